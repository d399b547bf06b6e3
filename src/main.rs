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
    std::process::exit(code);
}
