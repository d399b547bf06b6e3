//! The library's front door: load the default models once, score an article and a few
//! sentences, and print tone, quad class, speaker and the tone toward each target.
//!
//!   cargo run --release --example front_door -- [FILE]
//!
//! Without FILE it scores a short article written for this example.

use rhetor::Pipeline;

const ARTICLE: &str = "date 2025-03-02 Finland's president praised Sweden for joining the \
patrol mission. He warned Russia that any incursion would be met with force.";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let text = match std::env::args().nth(1) {
        Some(path) => std::fs::read_to_string(path)?,
        None => ARTICLE.to_string(),
    };
    let pipeline = Pipeline::builder().build()?;
    for row in pipeline.score_text(&text)? {
        let speaker = row
            .attribution
            .as_ref()
            .and_then(|a| a.speaker.clone())
            .unwrap_or_else(|| "-".into());
        println!("{:+.2} {:?} [{speaker}] {}", row.tone, row.quad, row.text);
        for t in row.attribution.iter().flat_map(|a| &a.targets) {
            println!("      toward {}: {:+.2}", t.actor, t.tone);
        }
    }
    let sentences = [
        "The talks collapsed in acrimony.",
        "Both sides signed the accord.",
    ];
    for row in pipeline.score_sentences(&sentences)? {
        println!("{:+.2} {}", row.tone, row.text);
    }
    Ok(())
}
