-- Constellation (.cst) for Neovim 0.11+: filetype, the `cst lsp` language server, inlay hints,
-- code lenses and a "run pipeline" key map.
--
-- Use it in one of three ways:
--   * copy it to ~/.config/nvim/plugin/constellation.lua (loaded at start-up);
--   * copy it to ~/.config/nvim/lua/constellation.lua and call require("constellation") in init.lua;
--   * try it alone: nvim --clean -u constellation.lua file.cst
-- Options go in vim.g.constellation before it loads, e.g.
--   vim.g.constellation = { cmd = { "/path/to/venv/bin/cst", "lsp" }, inlay_hints = { types = true } }
-- Key maps in .cst buffers (<leader> is "\" unless you changed it):
--   <leader>cr run the pipeline (asks for the inputs) · <leader>ce run with the @example inputs · <leader>cc cancel
--   <leader>cl show the layers  · <leader>cL run the code lens on the cursor line

if vim.g.loaded_constellation then
  return package.loaded.constellation
end
vim.g.loaded_constellation = true

local M = {}

M.config = vim.tbl_deep_extend("force", {
  cmd = { "cst", "lsp" },
  -- Neovim has no workspace trust: set this to false in folders whose Python modules you do
  -- not want the server to import (it then loads only the standard library).
  trusted = true,
  inlay_hints = { layers = true, types = false, values = true },
  code_lens = { layers = true },
  run = { schedule = "layered", serial = false },
  keymaps = true,
}, vim.g.constellation or {})

vim.filetype.add({ extension = { cst = "constellation" } })

-- ---- the results buffer ----------------------------------------------------------------------

local results = { bufnr = nil }

--- The scratch buffer "Constellation run", shown in a split at the bottom.
local function results_buffer()
  if not (results.bufnr and vim.api.nvim_buf_is_valid(results.bufnr)) then
    results.bufnr = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_name(results.bufnr, "Constellation run")
    vim.bo[results.bufnr].bufhidden = "hide"
    vim.bo[results.bufnr].filetype = "constellationrun"
  end
  if vim.fn.bufwinid(results.bufnr) == -1 then
    local current = vim.api.nvim_get_current_win()
    vim.cmd("botright 12split")
    vim.api.nvim_win_set_buf(0, results.bufnr)
    vim.api.nvim_set_current_win(current)
  end
  return results.bufnr
end

local function append(lines, reset)
  local bufnr = results_buffer()
  vim.api.nvim_buf_set_lines(bufnr, reset and 0 or -1, -1, false, lines)
  local win = vim.fn.bufwinid(bufnr)
  if win ~= -1 then
    vim.api.nvim_win_set_cursor(win, { vim.api.nvim_buf_line_count(bufnr), 0 })
  end
end

--- All lines of the results buffer (the end-to-end test reads them).
function M.result_lines()
  if not (results.bufnr and vim.api.nvim_buf_is_valid(results.bufnr)) then
    return {}
  end
  return vim.api.nvim_buf_get_lines(results.bufnr, 0, -1, false)
end

-- ---- formatting run events (docs/run-events.md) ------------------------------------------------

local function ms(value)
  if type(value) ~= "number" then
    return "?"
  end
  if value < 1000 then
    return string.format("%d ms", math.floor(value + 0.5))
  end
  return string.format("%.2f s", value / 1000)
end

local function one_line(value)
  local ok, text = pcall(vim.json.encode, value)
  text = ok and text or tostring(value)
  if #text > 100 then
    text = text:sub(1, 99) .. "…"
  end
  return text
end

local function error_text(err)
  if type(err) ~= "table" then
    return tostring(err or "unknown error")
  end
  local where = err.line and string.format(" (line %d:%d)", err.line, err.column or 1) or ""
  return (err.message or "error") .. where
end

local event_lines = {
  run_started = function(e)
    local lines = {
      string.format("▶ %s · %d calls in %d layers · schedule %s", vim.fs.basename(e.file or "pipeline"), e.nodes or 0,
        e.depth or 0, e.schedule or "layered"),
    }
    for _, layer in ipairs(e.layers or {}) do
      table.insert(lines, string.format("    layer %d: %s", layer.layer, table.concat(layer.nodes or {}, ", ")))
    end
    return lines
  end,
  layer_started = function(e)
    return { string.format("layer %d started", e.layer) }
  end,
  node_started = function(e)
    return { string.format("  ▷ %s", e.name) }
  end,
  node_retrying = function(e)
    return { string.format("  ↻ %s attempt %d failed: %s", e.name, e.attempt or 1, tostring(e.error)) }
  end,
  node_completed = function(e)
    return { string.format("  ✓ %s = %s (%s)", e.name, one_line(e.value), ms(e.duration_ms)) }
  end,
  node_failed = function(e)
    return { string.format("  ✗ %s failed: %s", e.name, error_text(e.error)) }
  end,
  node_skipped = function(e)
    return { string.format("  ⊘ %s skipped: %s", e.name, e.reason or "") }
  end,
  layer_completed = function(e)
    return { string.format("layer %d completed in %s", e.layer, ms(e.duration_ms)) }
  end,
  log = function(e)
    return { "log: " .. tostring(e.message) }
  end,
  run_completed = function(e)
    return { string.format("■ run %s in %s", e.status or "finished", ms(e.duration_ms)) }
  end,
}

--- Called for each `constellation/runEvent` notification.
function M.on_run_event(event)
  local format = type(event) == "table" and event_lines[event.event]
  if format then
    append(format(event))
  end
end

local function result_lines(result)
  local lines = { "" }
  local names = vim.tbl_keys(result.outputs or {})
  table.sort(names)
  if #names > 0 then
    table.insert(lines, "Outputs:")
    for _, name in ipairs(names) do
      table.insert(lines, string.format("  %s = %s", name, one_line(result.outputs[name])))
    end
  end
  for _, err in ipairs(result.errors or {}) do
    table.insert(lines, "Error: " .. error_text(err))
  end
  table.insert(lines, string.format("Status: %s in %s", result.status or "?", ms(result.duration_ms)))
  return lines
end

-- ---- commands ----------------------------------------------------------------------------------

local function client_for(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr, name = "constellation" })[1]
end

local function execute(bufnr, command, argument, on_result)
  local client = client_for(bufnr)
  if not client then
    vim.notify("Constellation: the language server is not attached to this buffer", vim.log.levels.WARN)
    return
  end
  client:request("workspace/executeCommand", { command = command, arguments = { argument } }, function(err, result)
    if err then
      vim.notify(string.format("Constellation: %s failed: %s", command, err.message or tostring(err)),
        vim.log.levels.ERROR)
    end
    if on_result then
      on_result(err, result)
    end
  end, bufnr)
end

--- Runs the pipeline of a buffer; the events stream into the results buffer, then the outputs.
--- opts: { bufnr?, use_examples?, inputs?, on_result? }
function M.run_pipeline(opts)
  opts = opts or {}
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local argument = vim.tbl_extend("force", M.config.run, {
    uri = vim.uri_from_bufnr(bufnr),
    useExamples = opts.use_examples or nil,
    inputs = opts.inputs,
  })
  append({ "Running " .. vim.api.nvim_buf_get_name(bufnr) .. (opts.use_examples and " with examples" or "") .. "…" }, true)
  execute(bufnr, "constellation.runPipeline", argument, function(err, result)
    if result then
      append(result_lines(result))
      vim.notify(string.format("Constellation: run %s", result.status or "finished"))
    end
    if opts.on_result then
      opts.on_result(err, result)
    end
  end)
end

--- A typed input value: JSON when the text is JSON (42, true, [1, 2], "42"), else the text.
local function parse_input(text)
  local ok, value = pcall(vim.json.decode, text)
  if ok and value ~= nil then
    return value
  end
  return text
end

--- Asks for each input's value (vim.ui.input), then runs; the answers are kept for next time.
function M.run_with_inputs(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  execute(bufnr, "constellation.showLayers", { uri = vim.uri_from_bufnr(bufnr) }, function(_, result)
    local names = {}
    for _, layer in ipairs((result or {}).layers or {}) do
      for _, node in ipairs(layer.nodes or {}) do
        if node.kind == "input" then
          table.insert(names, node.name)
        end
      end
    end
    local remembered = vim.b[bufnr].constellation_inputs or {}
    local inputs = {}
    local function ask(index)
      if index > #names then
        vim.b[bufnr].constellation_inputs = inputs
        M.run_pipeline({ bufnr = bufnr, inputs = next(inputs) and inputs or nil })
        return
      end
      local name = names[index]
      local default = remembered[name]
      vim.ui.input({
        prompt = string.format("%s (JSON or text): ", name),
        default = default ~= nil and (type(default) == "string" and type(parse_input(default)) == "string"
          and default or vim.json.encode(default)) or nil,
      }, function(text)
        if text == nil then
          return -- cancelled
        end
        inputs[name] = parse_input(text)
        ask(index + 1)
      end)
    end
    vim.schedule(function() ask(1) end)
  end)
end

function M.cancel_run(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  execute(bufnr, "constellation.cancelRun", { uri = vim.uri_from_bufnr(bufnr) })
end

function M.show_layers(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  execute(bufnr, "constellation.showLayers", { uri = vim.uri_from_bufnr(bufnr) }, function(_, result)
    if not result then
      return
    end
    local lines = { "Layers of " .. vim.api.nvim_buf_get_name(bufnr) }
    for _, layer in ipairs(result.layers or {}) do
      local names = {}
      for _, node in ipairs(layer.nodes or {}) do
        table.insert(names, string.format("%s (line %d)", node.name, node.line or 0))
      end
      table.insert(lines, string.format("  layer %d: %s", layer.layer, table.concat(names, ", ")))
    end
    append(lines, true)
  end)
end

-- Code lenses carry these commands; running a lens (<leader>cL) goes through the same display.
vim.lsp.commands["constellation.runPipeline"] = function(command, ctx)
  local arg = (command.arguments or {})[1] or {}
  M.run_pipeline({ bufnr = ctx.bufnr, use_examples = arg.useExamples, inputs = arg.inputs })
end
vim.lsp.commands["constellation.showLayers"] = function(_, ctx)
  M.show_layers(ctx.bufnr)
end
vim.lsp.commands["constellation.cancelRun"] = function(_, ctx)
  M.cancel_run(ctx.bufnr)
end

-- ---- the language server -----------------------------------------------------------------------

local settings = {
  trusted = M.config.trusted,
  inlayHints = M.config.inlay_hints,
  codeLens = M.config.code_lens,
}

local server = {
  cmd = M.config.cmd,
  filetypes = { "constellation" },
  root_markers = { "constellation.toml", ".git" },
  init_options = settings,
  settings = { constellation = settings },
  handlers = {
    ["constellation/runEvent"] = function(_, event)
      M.on_run_event(event)
    end,
  },
}

if vim.fn.has("nvim-0.11") == 1 then
  vim.lsp.config("constellation", server)
  vim.lsp.enable("constellation")
else
  vim.notify("constellation.lua needs Neovim 0.11 or later (vim.lsp.config)", vim.log.levels.WARN)
end

vim.api.nvim_create_autocmd("FileType", {
  pattern = "constellation",
  callback = function(args)
    vim.bo[args.buf].commentstring = "# %s"
    vim.bo[args.buf].comments = ":#"
  end,
})

vim.api.nvim_create_autocmd("LspAttach", {
  callback = function(args)
    local client = vim.lsp.get_client_by_id(args.data.client_id)
    if not client or client.name ~= "constellation" then
      return
    end
    local bufnr = args.buf
    if client:supports_method("textDocument/inlayHint") then
      vim.lsp.inlay_hint.enable(true, { bufnr = bufnr })
    end
    if client:supports_method("textDocument/codeLens") then
      vim.lsp.codelens.refresh({ bufnr = bufnr })
      vim.api.nvim_create_autocmd({ "BufEnter", "InsertLeave", "TextChanged" }, {
        buffer = bufnr,
        callback = function()
          vim.lsp.codelens.refresh({ bufnr = bufnr })
        end,
      })
    end
    if M.config.keymaps then
      local map = function(lhs, fn, desc)
        vim.keymap.set("n", lhs, fn, { buffer = bufnr, desc = desc })
      end
      map("<leader>cr", function() M.run_with_inputs(bufnr) end, "Constellation: run pipeline")
      map("<leader>ce", function() M.run_pipeline({ bufnr = bufnr, use_examples = true }) end,
        "Constellation: run pipeline with examples")
      map("<leader>cc", function() M.cancel_run(bufnr) end, "Constellation: cancel run")
      map("<leader>cl", function() M.show_layers(bufnr) end, "Constellation: show layers")
      map("<leader>cL", vim.lsp.codelens.run, "Constellation: run the code lens on this line")
    end
  end,
})

package.loaded.constellation = M
return M
