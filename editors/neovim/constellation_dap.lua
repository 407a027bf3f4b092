-- Constellation's debugger in Neovim through nvim-dap (https://github.com/mfussenegger/nvim-dap):
-- `cst dap` steps through a pipeline by layer and by call, with breakpoints on bindings.
--
-- Install nvim-dap, put this file beside constellation.lua (~/.config/nvim/lua/), then:
--   require("constellation_dap").setup()            -- after nvim-dap has loaded
-- Options: setup({ cmd = { "/path/to/venv/bin/cst", "lsp" }, keymaps = true }); cmd defaults to
-- vim.g.constellation.cmd (the language server's), with `dap` in place of `lsp`.
-- Key maps in .cst buffers:
--   <F5> start / continue · <F10> next (run the layer to its barrier) · <F11> step into (one call)
--   <S-F11> step out (to the layer's end) · <F9> toggle a breakpoint on the binding's line
--   <leader>dB conditional breakpoint (a .cst expression) · <leader>dH hit-count breakpoint
--   <leader>dk step back · <leader>dK reverse continue (replays) · <leader>dr the REPL (evaluate)
--   <leader>dq terminate

local M = {}

--- The adapter's command from the language server's: the same program, `dap` for `lsp`.
function M.adapter_command(server_cmd)
  local cmd = vim.deepcopy(server_cmd or { "cst", "lsp" })
  for i = #cmd, 1, -1 do
    if cmd[i] == "lsp" then
      cmd[i] = "dap"
      return vim.list_slice(cmd, 1, i)
    end
  end
  error("constellation_dap: the server command " .. table.concat(cmd, " ") ..
    " has no 'lsp' argument; pass setup({ cmd = { 'cst', 'lsp' } })")
end

M.configurations = {
  { type = "constellation", request = "launch", name = "Debug pipeline (@example inputs)",
    program = "${file}", useExamples = true, stopOnEntry = true },
  { type = "constellation", request = "launch", name = "Debug pipeline (serial: one call a step)",
    program = "${file}", useExamples = true, serial = true, stopOnEntry = true },
  -- replays come from the run records (`cst runs list`): no module is called
  { type = "constellation", request = "launch", name = "Replay the last run",
    program = "${file}", replay = "last", stopOnEntry = true },
  { type = "constellation", request = "launch", name = "Replay a recorded run",
    program = "${file}", stopOnEntry = true,
    replay = function()
      return vim.fn.input("Run to replay (an id from `cst runs list`, or last): ", "last")
    end },
}

local function keymaps(dap, bufnr)
  local function map(lhs, fn, desc)
    vim.keymap.set("n", lhs, fn, { buffer = bufnr, desc = "Constellation debug: " .. desc })
  end
  map("<F5>", dap.continue, "start or continue")
  map("<F10>", dap.step_over, "next layer")
  map("<F11>", dap.step_into, "one call")
  map("<S-F11>", dap.step_out, "to the end of the layer")
  map("<F9>", dap.toggle_breakpoint, "toggle breakpoint")
  map("<leader>dB", function() dap.set_breakpoint(vim.fn.input("Condition (.cst): ")) end,
    "conditional breakpoint")
  map("<leader>dH", function() dap.set_breakpoint(nil, vim.fn.input("Hit count: ")) end,
    "hit-count breakpoint")
  map("<leader>dk", dap.step_back, "step back")
  map("<leader>dK", dap.reverse_continue, "reverse continue")
  map("<leader>dr", dap.repl.open, "REPL")
  map("<leader>dq", dap.terminate, "terminate")
end

function M.setup(opts)
  opts = opts or {}
  local ok, dap = pcall(require, "dap")
  if not ok then
    vim.notify("constellation_dap: nvim-dap is not installed (https://github.com/mfussenegger/nvim-dap)",
      vim.log.levels.WARN)
    return false
  end
  local cmd = M.adapter_command(opts.cmd or (vim.g.constellation or {}).cmd)
  dap.adapters.constellation = { type = "executable", command = cmd[1],
    args = vim.list_slice(cmd, 2), options = { cwd = opts.cwd } }
  dap.configurations.constellation = vim.deepcopy(M.configurations)
  if opts.keymaps ~= false then
    vim.api.nvim_create_autocmd("FileType", {
      pattern = "constellation",
      group = vim.api.nvim_create_augroup("constellation_dap", { clear = true }),
      callback = function(args) keymaps(dap, args.buf) end,
    })
    for _, buf in ipairs(vim.api.nvim_list_bufs()) do
      if vim.bo[buf].filetype == "constellation" then keymaps(dap, buf) end
    end
  end
  return true
end

return M
