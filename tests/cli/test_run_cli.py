"""`cst run` as a subprocess: the live display, --json, the --events line protocol, inputs and
exit codes (docs/run-events.md)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
CST = [sys.executable, "-m", "constellation.cli.main"]


def cst(*args, cwd=EXAMPLES, scale="0.1", **kw):
    env = {**os.environ, "CONSTELLATION_TIME_SCALE": scale, "COLUMNS": "120"}
    for var in ("CONSTELLATION_SCHEDULE", "CONSTELLATION_SERIAL", "CONSTELLATION_SEED",
                "CONSTELLATION_SCHEDULER_ENABLED"):
        env.pop(var, None)
    return subprocess.run([*CST, "run", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60, **kw)


def write(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / "constellation.toml").write_text(
        f'modules = ["{(EXAMPLES / "modules" / "demo.py").as_posix()}"]\n')
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_profile_live_display_shows_parallel_total_and_sequential_sum():
    proc = cst("profile.cst", "--examples", scale="1")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for name in ("user", "orders", "preferences", "profile", "GetUser", "BuildProfile",
                 "Outputs"):
        assert name in out
    line = next(l for l in out.splitlines() if "parallel total" in l)
    total = float(line.split(" in ")[1].split(" ms")[0])
    sequential = float(line.split("sequential sum of the calls ")[1].split(" ms")[0])
    assert total < 0.75 * sequential  # ≈150 ms + build beside 330 ms + build


def test_json_result():
    proc = cst("profile.cst", "--input", "userId=u-7", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "completed"
    assert result["outputs"]["profile"]["userId"] == "u-7"
    assert [n["name"] for n in result["nodes"]] == ["user", "orders", "preferences", "profile"]
    assert set(result["nodes"][0]) == {"name", "status", "layer", "duration_ms", "error"}
    assert isinstance(result["duration_ms"], float)


def test_events_line_protocol():
    proc = cst("profile.cst", "--examples", "--events")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_completed"
    assert kinds.count("node_started") == kinds.count("node_completed") == 4
    assert kinds.count("layer_started") == kinds.count("layer_completed") == 2
    assert all("t_ms" in e for e in events)
    assert events[-1]["status"] == "completed"


def test_events_are_flushed_as_they_happen(tmp_path):
    path = write(tmp_path, "slow.cst", 'in s: String\na = SlowApiCall(s)\nb = Uppercase(a)\nout b\n')
    env = {**os.environ, "CONSTELLATION_TIME_SCALE": "1"}
    proc = subprocess.Popen([*CST, "run", path, "--input", "s=x", "--events"],
                            stdout=subprocess.PIPE, text=True, env=env)
    first = proc.stdout.readline()
    got_first = time.monotonic()
    rest = proc.stdout.read()
    proc.wait(timeout=30)
    done = time.monotonic()
    assert json.loads(first)["event"] == "run_started"
    assert done - got_first > 0.5  # the first line arrived well before the 1 s call ended
    assert json.loads(rest.splitlines()[-1])["event"] == "run_completed"


def test_failed_run_exit_1_with_errors(tmp_path):
    path = write(tmp_path, "fail.cst", "in s: String\nx = AlwaysFailsService(s)\nout x\n")
    proc = cst(path, "--input", "s=v", "--json", cwd=tmp_path)
    assert proc.returncode == 1
    result = json.loads(proc.stdout)
    assert result["status"] == "failed"
    assert result["errors"] == [{"message": "Service failed for: v", "line": 2, "column": 5,
                                 "function": "AlwaysFailsService"}]
    assert result["nodes"][0]["error"]["message"] == "Service failed for: v"
    proc = cst(path, "--input", "s=v", cwd=tmp_path)
    assert proc.returncode == 1 and "Service failed for: v" in proc.stdout


def test_bad_inputs_are_rejected_all_at_once(tmp_path):
    path = write(tmp_path, "in.cst", "in a: Int\nin b: String\nx = a\nout x\n")
    proc = cst(path, "--input", "a=abc", "--input", "z=1", "--events", cwd=tmp_path)
    assert proc.returncode == 2
    (line,) = proc.stdout.splitlines()
    event = json.loads(line)
    assert event["event"] == "run_rejected"
    assert [e["message"] for e in event["errors"]] == [
        "Unknown input 'z'", "Input 'a': expected Int, got \"abc\"", "Missing input 'b'"]
    proc = cst(path, "--input", "a=abc", cwd=tmp_path)
    assert proc.returncode == 2 and "Missing input 'b'" in proc.stderr
    assert "hint: give inputs with --input name=value" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_inputs_file_and_typed_input_values(tmp_path):
    path = write(tmp_path, "typed.cst", 'in n: Int\nin tags: List<String>\nin s: String\n'
                                        'x = "${s}:${n}:${tags}"\nout x\n')
    (tmp_path / "inputs.json").write_text(json.dumps({"tags": ["a", "b"], "s": "from-file"}))
    proc = cst(path, "--inputs", str(tmp_path / "inputs.json"), "--input", "n=42",
               "--input", "s=42", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outputs"] == {"x": "42:42:[a, b]"}


def test_compile_errors_are_rejected(tmp_path):
    path = write(tmp_path, "bad.cst", "x = Uppercas(\"a\")\nout x\n")
    proc = cst(path, "--events", cwd=tmp_path)
    assert proc.returncode == 2
    event = json.loads(proc.stdout)
    assert event["event"] == "run_rejected"
    assert "Uppercas" in event["errors"][0]["message"] and event["errors"][0]["line"] == 1
    proc = cst(path, cwd=tmp_path)
    assert proc.returncode == 2 and "E002" in proc.stderr


def test_timeout_option_cancels_with_exit_130(tmp_path):
    path = write(tmp_path, "slow.cst", "in s: String\nq = Uppercase(s)\nx = SlowApiCall(s)\n"
                                       "out q\nout x\n")
    proc = cst(path, "--input", "s=a", "--timeout", "0.05", "--json", cwd=tmp_path, scale="1")
    assert proc.returncode == 130
    result = json.loads(proc.stdout)
    assert result["status"] == "cancelled" and result["outputs"] == {"q": "A"}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_cancels_the_run(tmp_path):
    path = write(tmp_path, "slow.cst", "in s: String\nx = ExpensiveCompute(s)\nout x\n")
    env = {**os.environ, "CONSTELLATION_TIME_SCALE": "1"}
    proc = subprocess.Popen([*CST, "run", path, "--input", "s=a", "--events"],
                            stdout=subprocess.PIPE, text=True, env=env)
    for line in proc.stdout:
        if json.loads(line)["event"] == "node_started":
            break
    proc.send_signal(signal.SIGINT)
    rest = proc.stdout.read()
    assert proc.wait(timeout=10) == 130
    last = json.loads(rest.splitlines()[-1])
    assert last["event"] == "run_completed" and last["status"] == "cancelled"


BLOCKING = '''import sys, time
from constellation.runtime import module

@module
def Block(s: str) -> str:
    """Blocks its thread for an hour: nothing can interrupt it."""
    time.sleep(3600)
    return s

@module
def Nap(ms: int) -> int:
    time.sleep(ms / 1000)
    return ms

@module
def Chatty(n: int) -> int:
    for i in range(n):
        print("line", i)
    return n
'''


def write_blocking(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / "mods.py").write_text(BLOCKING)
    (tmp_path / "constellation.toml").write_text('modules = ["mods.py"]\n')
    (tmp_path / name).write_text(text)
    return str(tmp_path / name)


def test_a_blocked_sync_module_does_not_hold_the_run_or_the_process(tmp_path):
    """--timeout, Ctrl-C and SIGTERM end the run (partial results, exit 130) and the process,
    although the module's thread cannot be stopped: it is abandoned."""
    path = write_blocking(tmp_path, "hang.cst", 'a = Block("x")\nb = Nap(1)\nout a\nout b\n')
    proc = cst(path, "--timeout", "0.5", "--json", cwd=tmp_path, scale="1")
    assert proc.returncode == 130, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "cancelled" and result["outputs"] == {"b": 1}
    assert "abandoned" in proc.stderr
    for sig in (signal.SIGINT, signal.SIGTERM):
        child = subprocess.Popen([*CST, "run", path, "--events"], cwd=tmp_path,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for line in child.stdout:
            if json.loads(line)["event"] == "node_started":
                break
        child.send_signal(sig)
        child.stdout.read()
        assert child.wait(timeout=30) == 130


def test_a_timeout_option_holds_for_sync_modules_under_serial(tmp_path):
    path = write_blocking(tmp_path, "st.cst", "b = Nap(3000) with timeout: 200ms, fallback: 7\nout b\n")
    for extra in ([], ["--serial"]):
        proc = cst(path, "--json", *extra, cwd=tmp_path, scale="1")
        assert json.loads(proc.stdout)["outputs"] == {"b": 7}, extra


def test_what_a_module_prints_goes_to_standard_error_under_json_and_events(tmp_path):
    path = write_blocking(tmp_path, "chat.cst", "a = Chatty(50)\nout a\n")
    proc = cst(path, "--json", cwd=tmp_path)
    assert json.loads(proc.stdout)["outputs"] == {"a": 50}
    assert "line 49" in proc.stderr
    proc = cst(path, "--events", cwd=tmp_path)
    assert [json.loads(line)["event"] for line in proc.stdout.splitlines()][-1] == "run_completed"


def test_values_and_messages_are_shown_as_written_not_as_markup(tmp_path):
    path = write(tmp_path, "echo.cst", "in s: String\nout s\n")
    proc = cst(path, "--input", "s=a [/] b [bold]c", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert '"a [/] b [bold]c"' in proc.stdout


def test_schedule_serial_seed_and_max_concurrency_options():
    proc = cst("profile.cst", "--examples", "--events", "--schedule", "eager", "--serial",
               "--seed", "3", "--max-concurrency", "2")
    assert proc.returncode == 0, proc.stderr
    start = json.loads(proc.stdout.splitlines()[0])
    assert (start["schedule"], start["serial"], start["seed"]) == ("eager", True, 3)


@pytest.mark.parametrize("depth", [100_000, 500])
def test_deeply_nested_inputs_are_a_rejection_not_an_internal_error(tmp_path, depth):
    """json.loads recurses per level (RecursionError at 100,000), and a value it still reads
    (500 levels) would exhaust the stack when checked against its type."""
    path = write(tmp_path, "deep.cst", "in xs: List<Int>\nout xs\n")
    deep = "[" * depth + "]" * depth
    (tmp_path / "deep.json").write_text('{"xs": ' + deep + "}")
    proc = cst(path, "--inputs", str(tmp_path / "deep.json"), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "nested too deeply" in proc.stderr and "Traceback" not in proc.stderr
    deep = deep[len(deep) // 2 - 50_000:len(deep) // 2 + 50_000]  # an argument is < 128 kB
    proc = cst(path, "--input", f"xs={deep}", "--events", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    event = json.loads(proc.stdout)
    assert event["event"] == "run_rejected"
    assert "nested too deeply" in event["errors"][0]["message"]


UNRULY = '''import os, subprocess, sys, threading, time
from constellation.runtime import module

@module
def Quit(code: int) -> int:
    sys.exit(code)

@module
async def QuitAsync(code: int) -> int:
    raise SystemExit(code)

@module
def Interrupt(s: str) -> str:
    raise KeyboardInterrupt("from the module")

@module
async def InterruptAsync(s: str) -> str:
    raise KeyboardInterrupt

@module
def StrayGeneratorExit(s: str) -> str:
    raise GeneratorExit

@module
async def StrayGeneratorExitAsync(s: str) -> str:
    raise GeneratorExit

@module
def Fine(s: str) -> str:
    time.sleep(0.2)  # still running while the others end
    return s.upper()

@module
async def BlockLoop(s: str) -> str:
    time.sleep(30)  # blocks the event loop: no await in 30 s
    return s

@module
async def Spin(s: str) -> str:
    while True:  # a busy loop: the event loop never ticks
        pass

@module
async def Stubborn(s: str) -> str:
    while True:
        try:
            time.sleep(30)
        except BaseException:  # swallows even the watchdog's interrupt
            pass

@module
def SpawnChild(s: str) -> int:
    child = subprocess.Popen(["sleep", "60"])
    return child.pid

@module
def LeaveThread(s: str) -> int:
    thread = threading.Thread(target=time.sleep, args=(60,))  # not a daemon
    thread.start()
    return os.getpid()
'''


def write_unruly(tmp_path: Path, text: str) -> str:
    (tmp_path / "unruly.py").write_text(UNRULY)
    (tmp_path / "constellation.toml").write_text('modules = ["unruly.py"]\n')
    (tmp_path / "p.cst").write_text(text)
    return str(tmp_path / "p.cst")


@pytest.mark.parametrize("call, message", [
    ("Quit(3)", "'Quit' called sys.exit(3)"),
    ("QuitAsync(4)", "'QuitAsync' called sys.exit(4)"),
    ('Interrupt("a")', "'Interrupt' raised KeyboardInterrupt: from the module"),
    ('InterruptAsync("a")', "'InterruptAsync' raised KeyboardInterrupt"),
    ('StrayGeneratorExit("a")', "'StrayGeneratorExit' raised GeneratorExit"),
    ('StrayGeneratorExitAsync("a")', "'StrayGeneratorExitAsync' raised GeneratorExit"),
])
def test_a_module_that_exits_fails_its_own_call_not_the_run(tmp_path, call, message):
    path = write_unruly(tmp_path, f'x = {call}\ny = Fine("ok")\nout x\nout y\n')
    proc = cst(path, "--json", cwd=tmp_path)
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    result = json.loads(proc.stdout)
    assert result["status"] == "failed" and result["outputs"] == {"y": "OK"}
    assert result["errors"][0]["message"].startswith(message)
    assert [n["status"] for n in result["nodes"]] == ["failed", "completed"]
    proc = cst(path, "--events", cwd=tmp_path)
    assert proc.returncode == 1
    assert json.loads(proc.stdout.splitlines()[-1])["status"] == "failed"


@pytest.mark.parametrize("call", ['BlockLoop("a")', 'Spin("a")'])
def test_an_async_module_blocking_the_loop_does_not_defeat_the_run_timeout(tmp_path, call):
    """time.sleep(30) / a busy loop in an async def module: --timeout 0.5 ends the run in
    about a second (not 30 s, not never), with the partial outputs and a sentence naming the
    call that blocked the loop."""
    path = write_unruly(tmp_path, f'x = {call}\ny = Fine("ok")\nout x\nout y\n')
    t0 = time.monotonic()
    proc = cst(path, "--timeout", "0.5", "--json", cwd=tmp_path, scale="1")
    took = time.monotonic() - t0
    assert proc.returncode == 130, (proc.stdout, proc.stderr)
    result = json.loads(proc.stdout)
    assert result["status"] == "cancelled"
    name = call.split("(")[0]
    assert any(f"The call of '{name}' ('x', line 1) blocked the event loop" in line
               for line in result["log"]), result["log"]
    assert took < 15  # the module would hold the loop for 30 s, or forever


def test_an_async_module_blocking_the_loop_does_not_defeat_its_timeout_option(tmp_path):
    path = write_unruly(tmp_path, 'x = BlockLoop("a") with timeout: 300ms, fallback: "fb"\n'
                                  'y = Fine("ok")\nout x\nout y\n')
    t0 = time.monotonic()
    proc = cst(path, "--json", cwd=tmp_path, scale="1")
    assert time.monotonic() - t0 < 15
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    result = json.loads(proc.stdout)
    assert result["outputs"] == {"x": "fb", "y": "OK"}
    assert "blocked the event loop" in result["log"][0] and "unruly.py:" in result["log"][0]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_cancels_a_run_whose_loop_an_async_module_blocks(tmp_path):
    path = write_unruly(tmp_path, 'x = BlockLoop("a")\nout x\n')
    proc = subprocess.Popen([*CST, "run", path, "--events"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if json.loads(line)["event"] == "node_started":
            break
    time.sleep(0.3)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    rest = proc.stdout.read()
    assert proc.wait(timeout=20) == 130
    assert time.monotonic() - t0 < 15
    events = [json.loads(line) for line in rest.splitlines()]
    assert events[-1]["event"] == "run_completed" and events[-1]["status"] == "cancelled"
    assert [e["name"] for e in events if e["event"] == "node_cancelled"] == ["x"]


def _alive(pid: int) -> bool:
    """A live process (a zombie, killed but not yet reaped by its new parent, is not)."""
    try:
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (ProcessLookupError, FileNotFoundError):
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")
def test_a_child_process_a_module_started_does_not_outlive_the_run(tmp_path):
    path = write_unruly(tmp_path, 'x = SpawnChild("a")\ny = Fine("ok")\nout x\nout y\n')
    proc = cst(path, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    pid = result["outputs"]["x"]
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), "the module's `sleep 60` outlived cst run"
    assert f"ended 1 process(es) a module had started and left running: {pid} (sleep)" \
        in proc.stderr


def test_a_non_daemon_thread_a_module_left_does_not_hold_the_process(tmp_path):
    """threading.Thread(target=time.sleep, args=(60,)): cst run exits with the run's status
    and result at once, instead of joining the thread for 60 s."""
    path = write_unruly(tmp_path, 'x = LeaveThread("a")\nout x\n')
    t0 = time.monotonic()
    proc = cst(path, "--json", cwd=tmp_path)
    assert time.monotonic() - t0 < 30
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "completed"
    assert "1 thread(s) a module started were still running (Thread-1" in proc.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")
def test_a_run_whose_watched_parent_is_killed_ends(tmp_path):
    """--watch-parent PID (the language server passes its own): the run notices that its
    parent died, even by SIGKILL, and ends cancelled instead of running on."""
    path = write_unruly(tmp_path, 'x = BlockLoop("a")\nout x\n')
    script = (f"import subprocess, sys, time\n"
              f"child = subprocess.Popen({[*CST, 'run', path, '--events']!r} + "
              f"['--watch-parent', str(__import__('os').getpid())], stdout=subprocess.DEVNULL,"
              f" stderr=subprocess.DEVNULL, start_new_session=True)\n"
              f"print(child.pid, flush=True)\ntime.sleep(120)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path,
                              stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    time.sleep(1.5)  # the run is under way, its loop blocked by BlockLoop
    assert _alive(child)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 20
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the run outlived its killed parent"


def test_events_abbreviate_large_values_and_name_the_full_result_file(tmp_path):
    (tmp_path / "big.py").write_text(
        "from constellation.runtime import module\n\n@module\ndef Huge(n: int) -> str:\n"
        "    return 'x' * n\n\n@module\ndef Nested(n: int) -> list[list[list[str]]]:\n"
        "    return [[['y' * 200] * 20] * 20] * n\n")
    (tmp_path / "constellation.toml").write_text('modules = ["big.py"]\n')
    (tmp_path / "p.cst").write_text(
        'big = Huge(300000)\nsmall = Huge(2)\nlogged = stdlib.debug.log(big)\n'
        'nested = Nested(20)\nout big\nout small\nout nested\n')
    proc = cst(str(tmp_path / "p.cst"), "--events", "--result-file",
               str(tmp_path / "result.json"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) < 20_000
    final = json.loads(lines[-1])
    assert final["outputs"]["small"] == "xx" and final["outputs"]["big"].endswith("…")
    assert set(final["abbreviated"]) == {"big", "nested"}
    assert final["abbreviated"]["big"] == 300002
    # 20 x 20 x 20 strings of 200: abbreviating keeps it all, so it is a preview of its text
    assert final["outputs"]["nested"].startswith('[[["yyy') and "characters)" in final["outputs"]["nested"]
    assert final["result_file"] == str(tmp_path / "result.json")
    full = json.loads((tmp_path / "result.json").read_text())
    assert full["outputs"]["big"] == "x" * 300000
    assert full["log"] == ["[constellation-lang] " + "x" * 300000]
    proc = cst(str(tmp_path / "p.cst"), "--json", cwd=tmp_path)  # --json: the whole result
    assert json.loads(proc.stdout)["outputs"]["big"] == "x" * 300000


def test_an_async_module_that_ignores_the_watchdog_still_ends_the_run(tmp_path):
    path = write_unruly(tmp_path, 'x = Stubborn("a")\nout x\n')
    t0 = time.monotonic()
    proc = cst(path, "--timeout", "0.5", "--json", cwd=tmp_path, scale="1")
    assert time.monotonic() - t0 < 30
    assert proc.returncode == 130, (proc.stdout, proc.stderr)
    assert "The call of 'Stubborn' ('x', line 1) blocked the event loop" in proc.stderr
    assert "did not give the loop back" in proc.stderr


def test_the_live_display_shows_a_cancelled_layer_as_cancelled_not_done(tmp_path):
    path = write(tmp_path, "slow.cst", "in s: String\nq = Uppercase(s)\nx = SlowApiCall(q)\n"
                                       "out x\n")
    proc = cst(path, "--input", "s=a", "--timeout", "0.3", cwd=tmp_path, scale="1")
    assert proc.returncode == 130, proc.stderr
    assert "layer 1 done in" in proc.stdout and "layer 2 cancelled after" in proc.stdout
    assert "layer 2 done" not in proc.stdout
