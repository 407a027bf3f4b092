-- Constellation (.cst) for Neovim 0.11+: filetype, the `cst lsp` language server, inlay hints,
-- code lenses and a "run pipeline" key map; a run shows each call's state on its line (signs
-- and end-of-line texts) as it happens.
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
--   <leader>cv the whole value of the binding on the cursor line after a run (also :ConstellationValue)
--   <leader>cg the graph of the layers in the browser (also :ConstellationGraph and the Graph lens)
--   <leader>cR the last run's report in the browser: states, timeline, values (also :ConstellationReport)
-- Trust: the first time a workspace root is opened you are asked whether to trust it (the server
-- then imports its Python modules and may run its pipelines); the answer is kept in
-- stdpath("state")/constellation/trust. :ConstellationTrust / :ConstellationDistrust change it.

if vim.g.loaded_constellation then
  return package.loaded.constellation
end
vim.g.loaded_constellation = true

local M = {}

M.config = vim.tbl_deep_extend("force", {
  cmd = { "cst", "lsp" },
  -- nil: ask once per workspace root and remember the answer in `trust_file`; true or false:
  -- decide for every root without asking. Untrusted: the server loads only the standard
  -- library's signatures and runs nothing of the workspace.
  trusted = nil,
  trust_file = vim.fs.joinpath(vim.fn.stdpath("state"), "constellation", "trust"),
  inlay_hints = { layers = true, types = false, values = true },
  code_lens = { layers = true },
  -- `▶ Run to here` / `↻ Re-run from here` lenses on each binding with a call (cst run
  -- --target / --from through the server's run command)
  partial_run_lenses = false,
  run = { schedule = "layered", serial = false },
  keymaps = true,
}, vim.g.constellation or {})

-- ---- workspace trust -----------------------------------------------------------------------------
-- One line per root, like vim.secure's trust file: "trust /path" or "deny /path".

local function read_trust()
  local verdicts = {}
  local file = io.open(M.config.trust_file, "r")
  if not file then
    return verdicts
  end
  for line in file:lines() do
    local verdict, root = line:match("^(%a+) (.+)$")
    if verdict == "trust" or verdict == "deny" then
      verdicts[root] = verdict == "trust"
    end
  end
  file:close()
  return verdicts
end

--- Remembers (or, with nil, forgets) the decision for a root.
function M.set_trust(root, trusted)
  local verdicts = read_trust()
  verdicts[root] = trusted
  vim.fn.mkdir(vim.fs.dirname(M.config.trust_file), "p")
  local lines = {}
  for path, value in pairs(verdicts) do
    table.insert(lines, (value and "trust " or "deny ") .. path)
  end
  table.sort(lines)
  vim.fn.writefile(lines, M.config.trust_file)
end

--- Whether the server may import and run the code of `root`: the `trusted` option, else the
--- remembered answer, else the user's answer now (remembered unless the prompt was dismissed).
function M.is_trusted(root)
  if type(M.config.trusted) == "boolean" then
    return M.config.trusted
  end
  local known = read_trust()[root]
  if known ~= nil then
    return known
  end
  local choice = vim.fn.confirm(
    string.format("Constellation: trust the workspace %s?\nIts Python modules are imported to read their "
      .. "signatures, and Run Pipeline executes them. Untrusted: standard library only, nothing runs.", root),
    "&Trust\n&Do not trust", 2)
  if choice == 0 then
    return false -- dismissed: not trusted, and asked again next time
  end
  M.set_trust(root, choice == 1)
  return choice == 1
end

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

-- ---- values as the server sent them ----------------------------------------------------------
-- vim.json.decode turns JSON objects into Lua tables, which lose the order of their keys (and
-- drop keys whose value is null), so values are shown from the JSON text of the notification:
-- the rpc layer decodes each message with vim.json.decode, and for run events the text is kept.

local raw_events = setmetatable({}, { __mode = "k" }) -- event params table -> message text
do
  local decode = vim.json.decode
  vim.json.decode = function(...) -- exactly the arguments given: decode rejects an explicit nil
    local value = decode(...)
    if type(value) == "table" and value.method == "constellation/runEvent" and type(value.params) == "table" then
      raw_events[value.params] = (...)
    end
    return value
  end
end

local function skip_space(text, i)
  return text:find("[^ \t\r\n]", i) or #text + 1
end

local function skip_string(text, i) -- text[i] is the opening quote; returns the index after the closing one
  local j = i + 1
  while true do
    local k = assert(text:find('["\\]', j), "unterminated JSON string")
    if text:sub(k, k) == "\\" then
      j = k + 2
    else
      return k + 1
    end
  end
end

local function skip_value(text, i)
  local c = text:sub(i, i)
  if c == '"' then
    return skip_string(text, i)
  elseif c == "{" or c == "[" then
    local depth, j = 0, i
    while true do
      local k = assert(text:find('[%[%]{}"]', j), "unterminated JSON value")
      local ch = text:sub(k, k)
      if ch == '"' then
        j = skip_string(text, k)
      else
        depth = depth + ((ch == "{" or ch == "[") and 1 or -1)
        j = k + 1
        if depth == 0 then
          return j
        end
      end
    end
  end
  return text:find("[%s,}%]]", i) or #text + 1 -- a number, true, false or null
end

--- The members of the JSON object at `i` of `text`, in order: { { key, raw }, ... }.
local function members(text, i)
  local list = {}
  i = skip_space(text, i + 1)
  while text:sub(i, i) == '"' do
    local key_end = skip_string(text, i)
    local value_start = skip_space(text, text:find(":", key_end, true) + 1)
    local value_end = skip_value(text, value_start)
    table.insert(list, { key = vim.json.decode(text:sub(i, key_end - 1)), raw = text:sub(value_start, value_end - 1) })
    i = skip_space(text, value_end)
    if text:sub(i, i) == "," then
      i = skip_space(text, i + 1)
    end
  end
  return list
end

local function member(text, key)
  for _, m in ipairs(members(text, skip_space(text, 1))) do
    if m.key == key then
      return m.raw
    end
  end
end

--- JSON text as one line (`pretty` false) or indented lines, keys in their order; strings are
--- re-encoded so that non-ASCII text shows as itself rather than as \u escapes.
local function render(raw, pretty)
  local out, depth, i = {}, 0, skip_space(raw, 1)
  local function newline()
    if pretty then
      table.insert(out, "\n" .. string.rep("  ", depth))
    end
  end
  while i <= #raw do
    local c = raw:sub(i, i)
    if c == '"' then
      local j = skip_string(raw, i)
      table.insert(out, vim.json.encode(vim.json.decode(raw:sub(i, j - 1))))
      i = j
    elseif c == "{" or c == "[" then
      local close = c == "{" and "}" or "]"
      local j = skip_space(raw, i + 1)
      if raw:sub(j, j) == close then
        table.insert(out, c .. close)
        i = j + 1
      else
        depth = depth + 1
        table.insert(out, c)
        newline()
        i = i + 1
      end
    elseif c == "}" or c == "]" then
      depth = depth - 1
      newline()
      table.insert(out, c)
      i = i + 1
    elseif c == "," then
      table.insert(out, ",")
      newline()
      i = i + 1
    elseif c == ":" then
      table.insert(out, pretty and ": " or ":")
      i = i + 1
    elseif c:match("%s") then
      i = i + 1
    else
      local j = raw:find('[%s,:%[%]{}"]', i) or #raw + 1
      table.insert(out, raw:sub(i, j - 1))
      i = j
    end
  end
  return table.concat(out)
end

--- The JSON text of a decoded value: from the message when known, else re-encoded.
local function value_text(value, raw)
  if raw then
    return raw
  end
  local ok, text = pcall(vim.json.encode, value)
  return ok and text or tostring(value)
end

local function one_line(value, raw)
  local ok, text = pcall(render, value_text(value, raw), false)
  text = ok and text or value_text(value, raw)
  if vim.fn.strchars(text) > 100 then
    text = vim.fn.strcharpart(text, 0, 99) .. "…"
  end
  return text
end

local function pretty_lines(value, raw)
  local ok, text = pcall(render, value_text(value, raw), true)
  return vim.split(ok and text or value_text(value, raw), "\n", { plain = true })
end

-- The last run's values per document: values[uri][name] = { value, raw }.
local values = {}

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
  node_completed = function(e, raw)
    return { string.format("  ✓ %s = %s (%s)", e.name, one_line(e.value, raw and member(raw, "value")), ms(e.duration_ms)) }
  end,
  node_failed = function(e)
    return { string.format("  ✗ %s failed: %s", e.name, error_text(e.error)) }
  end,
  node_skipped = function(e)
    local why = e.dependency and string.format("%s (%s failed)", e.reason, e.dependency) or (e.reason or "")
    return { string.format("  ⊘ %s skipped: %s", e.name, why) }
  end,
  node_cancelled = function(e)
    return { string.format("  ⊘ %s cancelled after %s", e.name, ms(e.duration_ms)) }
  end,
  layer_completed = function(e)
    return { string.format("layer %d completed in %s", e.layer, ms(e.duration_ms)) }
  end,
  layer_cancelled = function(e)
    return { string.format("layer %d cancelled after %s", e.layer, ms(e.duration_ms)) }
  end,
  log = function(e)
    return { "log: " .. tostring(e.message) }
  end,
  run_completed = function(e)
    return { string.format("■ run %s in %s", e.status or "finished", ms(e.duration_ms)) }
  end,
}

--- The members of the run event's `params` text, or nil when the text is unknown.
local function event_params(event)
  local message = raw_events[event]
  local ok, params = pcall(function()
    return message and member(message, "params")
  end)
  return ok and params or nil
end


-- ---- the run in the code: a sign and a text after each call's line, as events arrive ----------
-- One extmark per call (extmarks follow edits; a deleted line's marks are hidden), updated in
-- place; redrawn at most once per 50 ms frame, and every 250 ms while a call runs (its elapsed
-- time ticks). The next run of the buffer starts from a clean slate.

local run_ns = vim.api.nvim_create_namespace("constellation.run")
M.run_namespace = run_ns

local RUN_LOOK = { -- state: sign, highlight group (linked to a diagnostic or comment colour)
  pending = { "…", "ConstellationRunPending", "Comment" },
  running = { "▷", "ConstellationRunRunning", "DiagnosticInfo" },
  retrying = { "↻", "ConstellationRunRetrying", "DiagnosticWarn" },
  completed = { "✓", "ConstellationRunCompleted", "DiagnosticOk" },
  cached = { "✓", "ConstellationRunCached", "DiagnosticOk" },
  failed = { "✗", "ConstellationRunFailed", "DiagnosticError" },
  skipped = { "⊘", "ConstellationRunSkipped", "Comment" },
  cancelled = { "■", "ConstellationRunCancelled", "DiagnosticWarn" },
}
for _, look in pairs(RUN_LOOK) do
  vim.api.nvim_set_hl(0, look[2], { link = look[3], default = true })
end

local runs = {} -- uri -> { bufnr, calls = { [node] = call }, finished, clock = { t_ms, wall } }

local function clip(text, limit)
  text = tostring(text or "")
  if vim.fn.strchars(text) <= limit then
    return text
  end
  return vim.fn.strcharpart(text, 0, limit - 1) .. "…"
end

local function call_text(call, run)
  local state = call.state
  if state == "pending" then
    return call.layer and ("pending · layer " .. call.layer) or "pending"
  elseif state == "running" then
    local now = run.clock and (run.clock.t_ms + (vim.uv.now() - run.clock.wall)) or nil
    local text = (now and call.started_at) and ("running " .. ms(math.max(0, now - call.started_at))) or "running"
    return call.attempt > 1 and (text .. " · attempt " .. call.attempt) or text
  elseif state == "retrying" then
    return string.format("retrying · attempt %d (%s)", call.attempt, clip(call.retry_error, 80))
  elseif state == "completed" or state == "cached" then
    local how = state == "cached" and "cached" or ms(call.duration_ms)
    -- after the run the value inlay hint shows the value: the mark keeps the time
    if run.finished or call.raw == nil then
      return how
    end
    local ok, shown = pcall(render, call.raw, false)
    return how .. " = " .. clip(ok and shown or call.raw, 60)
  elseif state == "failed" then
    return string.format("failed after %s: %s", ms(call.duration_ms), clip(call.error, 80))
  elseif state == "skipped" then
    if call.reason == "dependency failed" then
      return "skipped: " .. (call.dependency and (call.dependency .. " failed") or "a dependency failed")
    elseif call.reason == "cancelled" then
      return "skipped: cancelled before it started"
    end
    return "skipped: " .. (call.reason or "not run")
  end
  return string.format("cancelled after %s", ms(call.duration_ms))
end

local function draw_call(run, call)
  if not vim.api.nvim_buf_is_loaded(run.bufnr) then
    return
  end
  local look = RUN_LOOK[call.state]
  local opts = {
    id = call.mark,
    sign_text = look[1],
    sign_hl_group = look[2],
    virt_text = { { look[1] .. " " .. call_text(call, run), look[2] } },
    virt_text_pos = "eol",
    invalidate = true, -- a deleted line takes its mark along
    undo_restore = false,
    priority = 20,
  }
  if call.mark then
    local at = vim.api.nvim_buf_get_extmark_by_id(run.bufnr, run_ns, call.mark, { details = true })
    if at[1] == nil or (at[3] and at[3].invalid) then
      return -- its line was deleted, or the mark cleared
    end
    pcall(vim.api.nvim_buf_set_extmark, run.bufnr, run_ns, at[1], 0, opts)
  else
    local last = vim.api.nvim_buf_line_count(run.bufnr)
    if call.line < 1 or call.line > last then
      return
    end
    local ok, id = pcall(vim.api.nvim_buf_set_extmark, run.bufnr, run_ns, call.line - 1, 0, opts)
    if ok then
      call.mark = id
    end
  end
end

local function draw_run(run)
  run.frame = nil
  for _, call in pairs(run.calls) do
    if call.dirty or call.state == "running" then
      call.dirty = false
      draw_call(run, call)
    end
  end
  local ticking = false
  if not run.finished then
    for _, call in pairs(run.calls) do
      if call.state == "running" then
        ticking = true
        break
      end
    end
  end
  if ticking and not run.ticker then
    run.ticker = vim.uv.new_timer()
    run.ticker:start(250, 250, vim.schedule_wrap(function()
      if run.ticker and not run.frame then
        draw_run(run)
      end
    end))
  elseif not ticking and run.ticker then
    run.ticker:stop()
    run.ticker:close()
    run.ticker = nil
  end
end

local function request_frame(run, now)
  if now then
    if run.frame then
      run.frame:stop()
      run.frame:close()
    end
    draw_run(run)
  elseif not run.frame then
    run.frame = vim.defer_fn(function() draw_run(run) end, 50)
  end
end

local function run_call(run, e)
  local key = e.node ~= nil and tostring(e.node) or e.name
  if key == nil then
    return nil
  end
  local call = run.calls[key]
  if not call and type(e.line) == "number" and not run.finished then
    call = { name = e.name or key, layer = e.layer, line = e.line, state = "pending", attempt = 1, dirty = true }
    run.calls[key] = call
  end
  if call then
    call.dirty = true
  end
  return call
end

local run_updates = {
  node_started = function(call, e)
    call.state, call.started_at, call.attempt = "running", e.t_ms, e.attempt or 1
  end,
  node_retrying = function(call, e)
    call.state, call.attempt = "retrying", (e.attempt or call.attempt) + 1
    call.retry_error = type(e.error) == "table" and e.error.message or e.error
  end,
  node_completed = function(call, e, raw)
    call.state = e.cache_hit and "cached" or "completed"
    call.duration_ms = e.duration_ms
    call.raw = value_text(e.value, raw and member(raw, "value"))
  end,
  node_failed = function(call, e)
    call.state, call.duration_ms = "failed", e.duration_ms
    call.error = type(e.error) == "table" and e.error.message or e.error
  end,
  node_skipped = function(call, e)
    call.state, call.reason, call.dependency = "skipped", e.reason, e.dependency
  end,
  node_cancelled = function(call, e)
    call.state, call.duration_ms = "cancelled", e.duration_ms
  end,
}

--- Forgets a buffer's run marks (the next run's, or :ConstellationClearRun).
function M.clear_run_marks(bufnr)
  for uri, run in pairs(runs) do
    if run.bufnr == bufnr then
      if run.ticker then
        run.ticker:stop()
        run.ticker:close()
      end
      run.ticker, run.finished = nil, true
      runs[uri] = nil
    end
  end
  if vim.api.nvim_buf_is_valid(bufnr) then
    vim.api.nvim_buf_clear_namespace(bufnr, run_ns, 0, -1)
  end
end

--- Shows one run event on its buffer's lines.
local function mark_run_event(e, raw)
  local uri = e.uri
  if type(uri) ~= "string" then
    return
  end
  local bufnr = vim.uri_to_bufnr(uri)
  if e.event == "run_started" or e.event == "run_rejected" then
    M.clear_run_marks(bufnr)
    if e.event == "run_rejected" then
      return
    end
    runs[uri] = { bufnr = bufnr, calls = {} }
  end
  local run = runs[uri]
  if not run then
    return
  end
  if type(e.t_ms) == "number" then
    run.clock = { t_ms = e.t_ms, wall = vim.uv.now() }
  end
  if e.event == "run_started" then
    for _, c in ipairs(e.calls or {}) do
      run_call(run, c)
    end
  elseif run_updates[e.event] then
    local call = run_call(run, e)
    if call then
      run_updates[e.event](call, e, raw)
    end
  elseif e.event == "run_completed" then
    run.finished = true
    for _, call in pairs(run.calls) do
      call.dirty = true -- the values go: the inlay hints show them now
    end
  end
  request_frame(run, run.finished or e.event == "run_started")
end

--- Called for each `constellation/runEvent` notification.
function M.on_run_event(event)
  if type(event) ~= "table" then
    return
  end
  local raw = event_params(event)
  local uri = event.uri
  if uri and event.event == "run_started" then
    values[uri] = {}
  elseif uri and event.event == "node_completed" and event.name then
    values[uri] = values[uri] or {}
    values[uri][event.name] = { value = event.value, raw = raw and member(raw, "value") }
  elseif uri and event.event == "run_completed" then
    values[uri] = values[uri] or {}
    -- the outputs are whole (node_completed values may be abbreviated), in the run's order
    local outputs = raw and member(raw, "outputs")
    if outputs then
      values[uri].__outputs = members(outputs, skip_space(outputs, 1))
      for _, m in ipairs(values[uri].__outputs) do
        values[uri][m.key] = { value = (event.outputs or {})[m.key], raw = m.raw }
      end
    end
  end
  mark_run_event(event, raw)
  local format = event_lines[event.event]
  if format then
    append(format(event, raw))
  end
end

local function result_lines(result, uri)
  local lines = { "" }
  local ordered = uri and values[uri] and values[uri].__outputs
  if not ordered then
    ordered = {}
    local names = vim.tbl_keys(result.outputs or {})
    table.sort(names)
    for _, name in ipairs(names) do
      table.insert(ordered, { key = name })
    end
  end
  if #ordered > 0 then
    table.insert(lines, "Outputs:")
    for _, m in ipairs(ordered) do
      -- whole values: one line when short, else indented over several lines
      local value = (result.outputs or {})[m.key]
      local flat = render(value_text(value, m.raw), false)
      if vim.fn.strchars(flat) <= 100 then
        table.insert(lines, string.format("  %s = %s", m.key, flat))
      else
        local pretty = pretty_lines(value, m.raw)
        table.insert(lines, string.format("  %s = %s", m.key, pretty[1]))
        for k = 2, #pretty do
          table.insert(lines, "    " .. pretty[k])
        end
      end
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
--- opts: { bufnr?, use_examples?, inputs?, on_result?, target?, from?, resume? } (target: a
--- list of binding names, from: one, resume: true or a run id; see the server's run command)
function M.run_pipeline(opts)
  opts = opts or {}
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local partial = opts.target or opts.from or opts.resume
  if partial and opts.inputs == nil and not opts.use_examples then
    -- a partial run (a lens) takes the inputs of the buffer's last run
    local last = vim.b[bufnr].constellation_last_run or {}
    opts = vim.tbl_extend("force", opts, { inputs = last.inputs, use_examples = last.use_examples })
  end
  vim.b[bufnr].constellation_last_run = { inputs = opts.inputs, use_examples = opts.use_examples or nil }
  local argument = vim.tbl_extend("force", M.config.run, {
    uri = vim.uri_from_bufnr(bufnr),
    useExamples = opts.use_examples or nil,
    inputs = opts.inputs,
    target = opts.target,
    from = opts.from,
    resume = opts.resume,
    report = true, -- the run writes its report page, for :ConstellationReport
  })
  local part = opts.from and (" from " .. opts.from)
    or (opts.target and (" to " .. table.concat(opts.target, ", ")) or "")
  append({ "Running " .. vim.api.nvim_buf_get_name(bufnr) .. part .. (opts.use_examples and " with examples" or "") .. "…" }, true)
  execute(bufnr, "constellation.runPipeline", argument, function(err, result)
    if result then
      if vim.api.nvim_buf_is_valid(bufnr) then
        vim.b[bufnr].constellation_report = result.report
      end
      append(result_lines(result, argument.uri))
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

--- The last run's whole value of a binding (the one on the cursor line by default), in a float.
--- Returns the lines shown (nil when the last run has no value for it).
function M.show_value(opts)
  opts = opts or {}
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local name = opts.name
  if not name then
    local line = vim.api.nvim_get_current_line()
    name = line:match("^%s*([%a_][%w_]*)%s*=[^=>]") or line:match("^%s*out%s+([%a_][%w_]*)")
      or vim.fn.expand("<cword>")
  end
  local known = (values[vim.uri_from_bufnr(bufnr)] or {})[name]
  if not known or name == "__outputs" then
    vim.notify(string.format("Constellation: the last run has no value for '%s' (run the pipeline first)", name),
      vim.log.levels.INFO)
    return nil
  end
  local lines = pretty_lines(known.value, known.raw)
  vim.lsp.util.open_floating_preview(lines, "json", { title = name, border = "rounded", focus_id = "constellation_value" })
  return lines
end

--- The `cst` command prefix: the server command without its `lsp`.
local function cst_prefix()
  local cmd = vim.deepcopy(M.config.cmd)
  if cmd[#cmd] == "lsp" then
    table.remove(cmd)
  end
  return cmd
end

--- The graph view of the buffer (its text as it is, unsaved edits too) written by
--- `cst graph --format html` to a temporary file, then opened in the browser (vim.ui.open).
--- Returns the file's path, or nil (untrusted workspace, or cst said why not).
function M.show_graph(opts)
  opts = opts or {}
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local path = vim.api.nvim_buf_get_name(bufnr)
  local root = vim.fs.root(bufnr, { "constellation.toml", ".git" }) or vim.fn.getcwd()
  -- `cst graph` imports the workspace's modules to read their signatures
  if not M.is_trusted(root) then
    vim.notify("Constellation: the graph reads the workspace's modules; trust it first (:ConstellationTrust)",
      vim.log.levels.WARN)
    return nil
  end
  local out = vim.fn.tempname() .. ".html"
  local cmd = vim.list_extend(cst_prefix(), { "graph", "-", "--stdin-filename", path, "--format", "html", "-o", out })
  local text = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), "\n") .. "\n"
  local done = vim.system(cmd, { stdin = text, text = true, cwd = vim.fs.dirname(path) }):wait()
  if done.code ~= 0 then
    vim.notify("Constellation: " .. vim.trim(done.stderr or ""), vim.log.levels.ERROR)
    return nil
  end
  vim.ui.open(out)
  return out
end

--- The last run's report (`cst run --report`'s page, which the server's run wrote) opened in
--- the browser. Returns its path, or nil when the buffer has not been run yet.
function M.show_report(opts)
  opts = opts or {}
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local report = vim.b[bufnr].constellation_report
  if not report or vim.fn.filereadable(report) == 0 then
    vim.notify("Constellation: no report yet: run the pipeline first (<leader>cr, <leader>ce)", vim.log.levels.INFO)
    return nil
  end
  vim.ui.open(report)
  return report
end

-- Code lenses carry these commands; running a lens (<leader>cL) goes through the same display.
vim.lsp.commands["constellation.runPipeline"] = function(command, ctx)
  local arg = (command.arguments or {})[1] or {}
  M.run_pipeline({ bufnr = ctx.bufnr, use_examples = arg.useExamples, inputs = arg.inputs,
    target = arg.target, from = arg.from, resume = arg.resume })
end
vim.lsp.commands["constellation.showLayers"] = function(_, ctx)
  M.show_layers(ctx.bufnr)
end
vim.lsp.commands["constellation.cancelRun"] = function(_, ctx)
  M.cancel_run(ctx.bufnr)
end
vim.lsp.commands["constellation.showGraph"] = function(_, ctx)
  M.show_graph({ bufnr = ctx.bufnr })
end

-- ---- the language server -----------------------------------------------------------------------

local settings = {
  inlayHints = M.config.inlay_hints,
  codeLens = M.config.code_lens,
}

-- Neovim asks again for inlay hints on workspace/inlayHint/refresh only in buffers shown in a
-- window: one hidden then (opened, then another file opened before the modules were loaded)
-- would keep the hints made without its modules, drawn as nothing, until its first edit. Such
-- a buffer asks again when it is shown.
local stale_hints = {}

local function on_inlay_hint_refresh(err, result, ctx)
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  for bufnr in pairs(client and client.attached_buffers or {}) do
    if #vim.fn.win_findbuf(bufnr) == 0 then
      stale_hints[bufnr] = true
    end
  end
  return vim.lsp.handlers["workspace/inlayHint/refresh"](err, result, ctx)
end

local server = {
  cmd = M.config.cmd,
  filetypes = { "constellation" },
  root_markers = { "constellation.toml", ".git" },
  init_options = settings,
  settings = { constellation = settings },
  -- the server offers the `Graph` lens to clients that show graphs (constellation.showGraph)
  capabilities = vim.tbl_deep_extend("force", vim.lsp.protocol.make_client_capabilities(),
    { experimental = { constellationGraph = true } }),
  -- trust is the user's decision, sent only as an initialization option (the server lets
  -- configuration lower it, never raise it)
  before_init = function(params, config)
    local root = config.root_dir or vim.fn.getcwd()
    params.initializationOptions = vim.tbl_extend("force", params.initializationOptions or {},
      { trusted = M.is_trusted(root) })
    -- the partial-run lenses when they are asked for (run_pipeline passes target/from on);
    -- read at each start, so a change of M.config applies to the next server
    if M.config.partial_run_lenses then
      params.capabilities.experimental = vim.tbl_extend("force", params.capabilities.experimental or {},
        { constellationPartialRuns = true })
    end
  end,
  handlers = {
    ["constellation/runEvent"] = function(_, event)
      M.on_run_event(event)
    end,
    ["workspace/inlayHint/refresh"] = on_inlay_hint_refresh,
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
      vim.api.nvim_create_autocmd("BufWinEnter", {
        buffer = bufnr,
        callback = function()
          if stale_hints[bufnr] and vim.lsp.inlay_hint.is_enabled({ bufnr = bufnr }) then
            stale_hints[bufnr] = nil
            vim.lsp.inlay_hint.enable(true, { bufnr = bufnr }) -- forgets what was drawn, asks again
          end
        end,
      })
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
      map("<leader>cv", function() M.show_value({ bufnr = bufnr }) end, "Constellation: the whole value of this binding")
      map("<leader>cg", function() M.show_graph({ bufnr = bufnr }) end, "Constellation: the graph in the browser")
      map("<leader>cR", function() M.show_report({ bufnr = bufnr }) end, "Constellation: the last run's report in the browser")
    end
  end,
})

vim.api.nvim_create_user_command("ConstellationValue", function(cmd)
  M.show_value({ name = cmd.args ~= "" and cmd.args or nil })
end, { nargs = "?", desc = "Constellation: the last run's whole value of a binding (default: the cursor line's)" })

vim.api.nvim_create_user_command("ConstellationGraph", function()
  M.show_graph()
end, { desc = "Constellation: the graph of the layers (cst graph --format html) in the browser" })

vim.api.nvim_create_user_command("ConstellationReport", function()
  M.show_report()
end, { desc = "Constellation: the last run's report (states, timeline, values) in the browser" })

--- Changes the trust decision of the current buffer's workspace root and restarts its server.
local function retrust(trusted)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = client_for(bufnr)
  local root = client and client.root_dir or vim.fs.root(bufnr, server.root_markers) or vim.fn.getcwd()
  M.set_trust(root, trusted)
  vim.notify(string.format("Constellation: %s is %s", root, trusted and "trusted" or "not trusted"))
  if client then
    local buffers = vim.tbl_keys(client.attached_buffers)
    client:stop()
    vim.wait(5000, function() return client:is_stopped() end, 20)
    for _, b in ipairs(buffers) do
      if vim.api.nvim_buf_is_loaded(b) then
        vim.api.nvim_exec_autocmds("FileType", { buffer = b }) -- vim.lsp.enable starts it again
      end
    end
  end
end
vim.api.nvim_create_user_command("ConstellationTrust", function() retrust(true) end,
  { desc = "Constellation: trust this workspace (its modules are imported and may run)" })
vim.api.nvim_create_user_command("ConstellationDistrust", function() retrust(false) end,
  { desc = "Constellation: do not trust this workspace (standard library only, nothing runs)" })

package.loaded.constellation = M
return M
