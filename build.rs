//! Build script: lets binaries and tests find libtorch at run time without LD_LIBRARY_PATH by
//! adding an rpath to the libtorch folder assembled by `scripts/setup.sh`.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let Some(libtorch) = std::env::var_os("LIBTORCH") else {
        println!(
            "cargo:warning=LIBTORCH is not set; run scripts/setup.sh (it assembles .deps/libtorch)"
        );
        return;
    };
    let root = PathBuf::from(&libtorch);
    if let Ok(v) = std::fs::read_to_string(root.join("build-version")) {
        println!("cargo:rustc-env=RHETOR_LIBTORCH_VERSION={}", v.trim());
    }
    let lib = root.join("lib");
    if !lib.join("libtorch_cpu.so").exists() {
        println!(
            "cargo:warning=libtorch not found in {}; run scripts/setup.sh",
            lib.display()
        );
    }
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
}
