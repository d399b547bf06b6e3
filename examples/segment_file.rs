//! Prints the sentences the segmenter finds in a text article, one per line with offsets:
//! `cargo run --release --example segment_file -- FILE`.
use rhetor::ingest::parse_text_article;
use rhetor::segment::segment_article;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: segment_file FILE");
        std::process::exit(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    match parse_text_article(&path, &text) {
        Ok(a) => {
            for s in segment_article(&a) {
                println!("{}\t{}\t{}\t{}", s.index, s.start, s.end, s.text);
            }
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
