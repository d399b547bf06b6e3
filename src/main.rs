//! The `rhetor` binary: parses flags, runs a subcommand, maps the outcome to an exit code
//! (0 all good, 1 some inputs failed, 2 usage or setup error).

mod cli;

fn main() {
    rhetor::model::device::keep_freed_memory();
    let code = match cli::run() {
        Ok(code) => code,
        Err(err) => {
            if cli::is_broken_pipe(&err) {
                0
            } else {
                eprintln!("rhetor: error: {}", cli::message(&err));
                2
            }
        }
    };
    exit_now(code);
}

/// Ends the process with `code` once stdout and stderr are flushed, without running the C++
/// static destructors that `exit` would: libtorch's take about 80 ms (unregistering its
/// operators), a sixth of a one-sentence run. Everything of rhetor's own is dropped by now
/// (`cli::run` has returned; its outputs are committed), so there is nothing else to finish.
fn exit_now(code: i32) -> ! {
    use std::io::Write;
    let flushed = std::io::stdout().flush().is_ok();
    let _ = std::io::stderr().flush();
    if !flushed {
        // Let `exit` report what it can; a failed flush is rare and the cost then irrelevant.
        std::process::exit(code);
    }
    // SAFETY: `_exit` ends the process at once; every buffer of ours is flushed above and no
    // other thread of ours is running (scoped threads have been joined).
    unsafe { libc::_exit(code) }
}
