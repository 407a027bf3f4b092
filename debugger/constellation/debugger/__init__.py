"""`cst dap`: a Debug Adapter Protocol server that steps through a pipeline by layer and by
call (issue 18). The pipeline runs in a `cst run --debug` child process; a recorded run
(the run records of `cst runs`) can be replayed, forward and backward, without one."""
