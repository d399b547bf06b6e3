//! The transformer tone model: a WordPiece tokenizer, a BERT encoder (mean-pooled, optionally
//! L2-normalised, optionally with a fine-tuned overlay) and a trained head, described by a
//! model folder's manifest. Units are sorted by token length and padded per batch, so a batch
//! wastes little work on padding.

use std::path::{Path, PathBuf};

use tch::{Device, Kind, Tensor};

use super::encoder::pad_masks;
use super::encoder::{l2_normalize, mean_pool, pad_batch, Encoder, Overlay};
use super::head::{probabilities, AnyHead, LinearHead, MlpHead, TargetHead};
use super::manifest::{sha256_file, sha256_file_stamped, HeadKind, Manifest, ToneSource};
use super::{
    in_length_order_parallel, int8_cache, Label, Probs, Progress, QuadScore, TargetItem, Tone,
    ToneModel,
};
use crate::error::{Hint, ModelError};
use crate::tokenize::{Encoding, TextEncoder, WordPiece};

/// Run-time settings of a loaded model.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Units per forward pass.
    pub batch_size: usize,
    /// Overrides the manifest's maximum tokens per unit.
    pub max_length: Option<usize>,
    /// Arithmetic of the encoder's linear layers; `None` is the model's own (its manifest's
    /// `precision`, fp32 off the CPU, where int8 kernels do not run).
    pub precision: Option<Precision>,
    /// Where the encoder and head run ([`super::device`]).
    pub device: Device,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            batch_size: 32,
            max_length: None,
            precision: None,
            device: Device::Cpu,
        }
    }
}

pub use super::manifest::Precision;

/// Sentences that calibrate the int8 encoder's activation ranges: ordinary news and review
/// prose of mixed length and tone, written for rhetor.
pub const CALIBRATION: [&str; 16] = [
    "The finance ministry said on Tuesday that inflation had slowed to 2.4 percent in October.",
    "Officials from both countries met in Vienna to discuss a prisoner exchange.",
    "The defence minister warned that any incursion into its airspace would be met with force.",
    "Protesters gathered outside the parliament, demanding the resignation of the cabinet.",
    "The two leaders praised each other's courage and signed a treaty of friendship.",
    "Heavy rain closed several roads in the north of the country, the weather service said.",
    "A spokesman rejected the accusations as baseless lies spread by hostile media.",
    "The union called off the strike after the company agreed to raise wages by 6 percent.",
    "Shares in the carmaker fell sharply after it cut its profit forecast for the year.",
    "This is the best phone I have ever owned, and the battery lasts for days!",
    "The film is dull, overlong and badly acted.",
    "Rebels shelled the outskirts of the city overnight, killing at least twelve civilians, according to local officials who asked not to be named.",
    "The central bank kept interest rates unchanged, citing uncertainty over energy prices and weak demand in Europe.",
    "The president thanked the volunteers for their tireless work after the earthquake.",
    "Negotiators said talks on the ceasefire would resume next week in Doha.",
    "State media described the missile launch as a resounding success that struck fear into the enemy.",
];

/// The base encoder with its tokenizer: text in, pooled sentence embeddings out.
pub struct SentenceEncoder {
    /// The base's WordPiece tokenizer (its `vocab.txt`).
    pub(crate) tokenizer: WordPiece,
    /// The BERT encoder (with a model's fine-tuned overlay, if any, applied).
    pub encoder: Encoder,
    /// L2-normalise pooled embeddings (sentence-transformers style).
    pub normalize: bool,
    /// Layers (1-based) whose pooled outputs are concatenated; empty = the last layer.
    pub layers: Vec<usize>,
}

impl SentenceEncoder {
    /// Loads the tokenizer and encoder from an installed base folder onto `device`.
    pub fn load(dir: &Path, device: Device) -> Result<Self, ModelError> {
        Self::load_layers(dir, Vec::new(), device, None)
    }

    /// Loads the encoder, with a model's `overlay` over the base's tensors, so that embeddings
    /// concatenate the pooled outputs of `layers`.
    pub fn load_layers(
        dir: &Path,
        layers: Vec<usize>,
        device: Device,
        overlay: Option<&Overlay>,
    ) -> Result<Self, ModelError> {
        if !dir.is_dir() {
            return Err(ModelError::missing(dir, Hint::InstallBase));
        }
        let tokenizer = WordPiece::from_vocab(&dir.join("vocab.txt"))?;
        let encoder = Encoder::load_with(dir, !layers.is_empty(), device, overlay)?;
        let n = encoder.num_layers() as usize;
        if let Some(bad) = layers.iter().find(|&&l| l == 0 || l > n) {
            return Err(ModelError::Invalid(format!(
                "layer {bad} does not exist: the encoder has layers 1..={n}"
            )));
        }
        Ok(SentenceEncoder {
            tokenizer,
            encoder,
            normalize: true,
            layers,
        })
    }

    /// Switches the encoder's linear layers to int8 ([`Precision::Int8`]), calibrated on
    /// [`CALIBRATION`]. The int8 products run on the CPU only. With a `cache` file (from
    /// `int8_cache::path`) they are read from it when it holds this encoder's, and
    /// written to it after quantizing otherwise.
    pub fn quantize(&mut self, cache: Option<&Path>) -> Result<(), ModelError> {
        let device = self.encoder.device();
        if device != Device::Cpu {
            return Err(ModelError::DeviceUnavailable {
                device: super::device::name(device),
                reason: "int8 runs on libtorch's CPU kernels only (use --precision fp32 there)"
                    .into(),
            });
        }
        let model = &mut self.encoder.model;
        if let Some(cached) = cache.and_then(int8_cache::read) {
            if model.load_int8(&cached).is_ok() {
                return Ok(());
            }
        }
        let encodings = self.encode_all(&CALIBRATION, 128);
        let seqs: Vec<&[i64]> = encodings.iter().map(|e| e.ids.as_slice()).collect();
        let (ids, mask) = pad_batch(&seqs, self.tokenizer.pad_id(), device);
        let model = &mut self.encoder.model;
        model.quantize(&ids, &mask)?;
        if let Some(path) = cache {
            // A cache that cannot be written costs the next load this quantization, no more.
            let _ = int8_cache::write(path, &model.int8_tensors());
        }
        Ok(())
    }

    /// Size of an embedding: hidden size × number of pooled layers.
    pub fn dim(&self) -> i64 {
        self.encoder.hidden_size() * self.layers.len().max(1) as i64
    }

    /// Tokenizes every text.
    pub fn encode_all(&self, texts: &[&str], max_len: usize) -> Vec<Encoding> {
        texts
            .iter()
            .map(|t| self.tokenizer.encode(t, max_len))
            .collect()
    }

    /// Pooled (optionally normalised) embeddings `[n, dim]` of one padded batch, no gradient;
    /// with several `layers`, their pooled outputs side by side.
    pub fn embed_batch(&self, seqs: &[&[i64]]) -> Result<Tensor, ModelError> {
        let (ids, mask) = pad_batch(seqs, self.tokenizer.pad_id(), self.encoder.device());
        tch::no_grad(|| {
            let all = self.encoder.hidden_states(&ids, &mask, false)?;
            let pool = |h: &Tensor| {
                let p = mean_pool(h, &mask);
                if self.normalize {
                    l2_normalize(&p)
                } else {
                    p
                }
            };
            if self.layers.is_empty() {
                let last = all
                    .last()
                    .ok_or_else(|| ModelError::Invalid("the encoder returned no output".into()))?;
                return Ok(pool(last));
            }
            let mut parts = Vec::with_capacity(self.layers.len());
            for &l in &self.layers {
                let h = all.get(l - 1).ok_or_else(|| {
                    ModelError::Invalid(format!("the encoder returned no output for layer {l}"))
                })?;
                parts.push(pool(h));
            }
            Ok(Tensor::cat(&parts, 1))
        })
    }

    /// Embeddings `[n, hidden]` of many encodings, in input order, computed in length-sorted
    /// batches. `progress` receives the running count.
    pub fn embed_sorted(
        &self,
        encodings: &[Encoding],
        batch_size: usize,
        progress: Progress<'_>,
    ) -> Result<Tensor, ModelError> {
        let n = encodings.len();
        if n == 0 {
            return Ok(Tensor::zeros(
                [0, self.dim()],
                (Kind::Float, self.encoder.device()),
            ));
        }
        let lens: Vec<usize> = encodings.iter().map(|e| e.ids.len()).collect();
        let shared = Shared(self);
        let run = |chunk: &[usize]| {
            let seqs: Vec<&[i64]> = chunk.iter().map(|&i| encodings[i].ids.as_slice()).collect();
            Ok::<_, ModelError>(shared.get().embed_batch(&seqs)?.unbind(0))
        };
        let workers = batch_workers(self);
        let rows = in_length_order_parallel(&lens, batch_size, workers, run, progress)?;
        Ok(Tensor::stack(&rows, 0))
    }
}

/// A reference the batch workers of [`in_length_order_parallel`] share.
struct Shared<'a, T>(&'a T);

// SAFETY: the workers only run no-grad forward passes through it: they read the encoder's and
// heads' weights and allocate fresh tensors, which libtorch supports from several threads on
// one module, and nothing in the encoder or the heads has interior mutability.
unsafe impl<T> Sync for Shared<'_, T> {}

impl<'a, T> Shared<'a, T> {
    /// The reference (a method, so closures capture the whole `Shared`, not its field).
    fn get(&self) -> &'a T {
        self.0
    }
}

/// How many batches `encoder` runs at once: in int8, one per libtorch thread of this process
/// (`--threads`), each on one thread, since rhetor's quantize and rescale passes run on one
/// thread per batch (whole process on 3,000 news sentences, 2 threads: 0.84× the wall time of
/// one batch at a time); in fp32 one batch on all threads, since libtorch spreads every step
/// of it (two at once: 1.00×, for half again the peak memory).
fn batch_workers(encoder: &SentenceEncoder) -> usize {
    match encoder.encoder.model.is_int8() {
        true => tch::get_num_threads().max(1) as usize,
        false => 1,
    }
}

/// A transformer tone model loaded from a model folder.
pub struct TransformerModel {
    /// The model folder's manifest, as checked on load.
    pub(crate) manifest: Manifest,
    /// The model folder.
    pub dir: PathBuf,
    /// The base encoder, with the model's overlay and layer selection.
    pub(crate) encoder: SentenceEncoder,
    head: AnyHead,
    settings: Settings,
    /// The manifest's name, with `+int8` when the encoder runs in int8.
    name: String,
}

impl TransformerModel {
    /// Loads the model in `dir`: checks the manifest, the base encoder's sha256 and the head.
    pub fn load(dir: &Path, settings: Settings) -> Result<Self, ModelError> {
        super::device::check(settings.device)?;
        let manifest = Manifest::read(dir)?;
        let base_dir = manifest.base_dir(dir);
        let weights = base_dir.join("model.safetensors");
        if !weights.is_file() {
            return Err(ModelError::MissingFile {
                dir: base_dir.clone(),
                file: "model.safetensors".into(),
                hint: Hint::BaseFor(Box::new((
                    manifest.name.clone(),
                    manifest.base.name.clone(),
                    manifest.base.package.clone(),
                ))),
            });
        }
        let found = sha256_file_stamped(&weights).map_err(|e| ModelError::Corrupt {
            path: weights.clone(),
            reason: e.to_string(),
            hint: Hint::InstallBase,
        })?;
        if found != manifest.base.sha256 {
            return Err(ModelError::BaseMismatch {
                name: manifest.name.clone(),
                path: weights,
                expected: manifest.base.sha256.clone(),
                found,
            });
        }
        let overlay = (manifest.head.overlay.as_ref())
            .map(|o| Overlay::open(&dir.join(&o.file), &o.sha256))
            .transpose()?;
        let layers = manifest.head.layers.clone();
        let mut encoder =
            SentenceEncoder::load_layers(&base_dir, layers, settings.device, overlay.as_ref())?;
        encoder.normalize = manifest.head.normalize;
        let precision = settings.precision.unwrap_or(match settings.device {
            Device::Cpu => manifest.precision,
            _ => Precision::Fp32,
        });
        match precision {
            Precision::Int8 => encoder.quantize(Some(&int8_cache_path(&manifest)))?,
            Precision::Fp32 => encoder.encoder.model.fuse_qkv(),
        }
        let head_path = checked_head(dir, &manifest)?;
        let head = match manifest.head.kind {
            HeadKind::Linear | HeadKind::Finetuned => AnyHead::Linear(LinearHead::load(
                &head_path,
                encoder.dim(),
                manifest.head.quad,
                settings.device,
            )?),
            HeadKind::Mlp => AnyHead::Mlp(MlpHead::load(
                &head_path,
                encoder.dim(),
                manifest.head.hidden.unwrap_or(256),
                settings.device,
            )?),
            HeadKind::Target => AnyHead::Target(TargetHead::load(
                &head_path,
                encoder.dim(),
                settings.device,
            )?),
        };
        let name = match precision {
            Precision::Fp32 => manifest.name.clone(),
            Precision::Int8 => format!("{}+int8", manifest.name),
        };
        Ok(TransformerModel {
            manifest,
            dir: dir.to_path_buf(),
            encoder,
            head,
            settings,
            name,
        })
    }

    /// Maximum tokens per unit, including `[CLS]` and `[SEP]`: the `max_length` setting, else the
    /// manifest's, clamped to 2..=512. Longer units are truncated and flagged.
    pub fn max_length(&self) -> usize {
        self.settings
            .max_length
            .unwrap_or(self.manifest.max_length)
            .clamp(2, 512)
    }

    /// Tones from pooled features `[n, hidden]`: the tone (regression or probabilities, as the
    /// manifest says), its label by the neutral band, the class probabilities and the quad.
    pub fn tones_from_features(
        &self,
        features: &Tensor,
        truncated: &[bool],
    ) -> Result<Vec<Tone>, ModelError> {
        let head = &self.manifest.head;
        let out = tch::no_grad(|| self.head.forward(features));
        let probs = rows::<3>(&probabilities(&out.logits, head.temperature))?;
        let tone = floats(&out.tone)?;
        let quad = match &out.quad {
            Some(q) => Some(rows::<5>(&probabilities(q, head.quad_temperature))?),
            None => None,
        };
        let band = head.neutral_band as f32;
        Ok((0..truncated.len())
            .map(|i| {
                let p = Probs::from_array(probs[i]);
                let t = match head.tone {
                    ToneSource::Regression => tone[i].clamp(-1.0, 1.0),
                    ToneSource::Probabilities => p.positive - p.negative,
                };
                Tone {
                    tone: t,
                    label: Label::from_tone(t, band),
                    probs: p,
                    truncated: truncated[i],
                    quad: quad.as_ref().map(|q| QuadScore::from_probs(q[i])),
                }
            })
            .collect())
    }
}

/// The values of a tensor as f32, or an error (never invented numbers).
/// The head file of the model in `dir`, after checking it exists and matches the manifest's
/// sha256.
fn checked_head(dir: &Path, manifest: &Manifest) -> Result<PathBuf, ModelError> {
    let head_path = dir.join(&manifest.head.file);
    if !head_path.is_file() {
        return Err(ModelError::MissingFile {
            dir: dir.to_path_buf(),
            file: manifest.head.file.clone(),
            hint: Hint::RestoreModel,
        });
    }
    let head_sha = sha256_file(&head_path).map_err(|e| ModelError::Corrupt {
        path: head_path.clone(),
        reason: e.to_string(),
        hint: Hint::CheckFile,
    })?;
    if head_sha != manifest.head.sha256 {
        return Err(ModelError::Corrupt {
            path: head_path,
            reason: format!(
                "sha256 {head_sha} does not match the manifest's {}",
                manifest.head.sha256
            ),
            hint: Hint::RestoreModel,
        });
    }
    Ok(head_path)
}

fn floats(t: &Tensor) -> Result<Vec<f32>, ModelError> {
    let cpu = t.to_device(Device::Cpu).to_kind(Kind::Float);
    Vec::<f32>::try_from(cpu.contiguous().view(-1)).map_err(ModelError::from)
}

/// The rows of a `[n, N]` tensor.
fn rows<const N: usize>(t: &Tensor) -> Result<Vec<[f32; N]>, ModelError> {
    let flat = floats(t)?;
    Ok(flat
        .chunks_exact(N)
        .map(|c| {
            let mut a = [0f32; N];
            a.copy_from_slice(c);
            a
        })
        .collect())
}

/// The int8 cache file of the model `manifest` describes: keyed by the checksums of its base
/// and overlay and by the calibration sentences.
fn int8_cache_path(manifest: &Manifest) -> PathBuf {
    let overlay = manifest.head.overlay.as_ref();
    let overlay = overlay.map(|o| o.sha256.as_str()).unwrap_or("no overlay");
    let calibration = CALIBRATION.join("\n");
    int8_cache::path(
        &manifest.name,
        &[&manifest.base.sha256, overlay, &calibration],
    )
}

impl TransformerModel {
    /// True for target-dependent models (they score `(sentence, mention)` pairs).
    pub fn is_target_model(&self) -> bool {
        self.manifest.head.kind == HeadKind::Target
    }

    /// Tone toward each target, in order, in length-sorted batches. For a sentence-level model
    /// this is simply the sentence's tone.
    pub fn score_target_items(
        &self,
        items: &[TargetItem<'_>],
        progress: Progress<'_>,
    ) -> Result<Vec<Tone>, ModelError> {
        if !self.is_target_model() {
            let texts: Vec<&str> = items.iter().map(|i| i.text).collect();
            return self.score(&texts, progress);
        }
        let max = self.max_length();
        let enc: Vec<(Encoding, Vec<i64>)> = items
            .iter()
            .map(|i| {
                self.encoder.tokenizer.encode_span(
                    i.text,
                    max,
                    i.from,
                    i.to,
                    self.manifest.head.markers,
                )
            })
            .collect();
        let lens: Vec<usize> = enc.iter().map(|e| e.0.ids.len()).collect();
        let shared = Shared(self);
        let run = |chunk: &[usize]| {
            let me = shared.get();
            let seqs: Vec<&[i64]> = chunk.iter().map(|&k| enc[k].0.ids.as_slice()).collect();
            let masks: Vec<&[i64]> = chunk.iter().map(|&k| enc[k].1.as_slice()).collect();
            let markers = me.manifest.head.markers;
            let feats = target_features(&me.encoder, &seqs, &masks, markers, false)?;
            let truncated: Vec<bool> = chunk.iter().map(|&k| enc[k].0.truncated).collect();
            me.tones_from_features(&feats, &truncated)
        };
        let batch = self.settings.batch_size;
        in_length_order_parallel(&lens, batch, batch_workers(&self.encoder), run, progress)
    }
}

/// Features of a padded batch for the target head (`[n, 2 × hidden]`). Without markers:
/// `[sentence pool; mention pool]`. With markers: `[mention pool; opening marker]`, the mean of
/// the marked tokens (markers and mention) and the hidden state of the opening `<` marker, as in
/// typed-entity-marker relation models; both attend to the whole sentence, but neither is the
/// sentence's own average, so the tone toward one target need not copy the sentence's.
pub fn target_features(
    enc: &SentenceEncoder,
    seqs: &[&[i64]],
    mention_masks: &[&[i64]],
    markers: bool,
    train: bool,
) -> Result<Tensor, ModelError> {
    let device = enc.encoder.device();
    let (ids, mask) = pad_batch(seqs, enc.tokenizer.pad_id(), device);
    let mmask = pad_masks(mention_masks, device);
    let run = || -> Result<Tensor, ModelError> {
        let all = enc.encoder.hidden_states(&ids, &mask, train)?;
        let last = all
            .last()
            .ok_or_else(|| ModelError::Invalid("the encoder returned no output".into()))?;
        let mention = mean_pool(last, &mmask);
        let other = if markers {
            // The first marked token is the opening marker.
            let first = mmask.argmax(1, false);
            let hidden = last.size()[2];
            let index = first.view([-1, 1, 1]).expand([-1, 1, hidden], false);
            last.gather(1, &index, false).squeeze_dim(1)
        } else {
            mean_pool(last, &mask)
        };
        Ok(if markers {
            Tensor::cat(&[mention, other], 1)
        } else {
            Tensor::cat(&[other, mention], 1)
        })
    };
    if train {
        run()
    } else {
        tch::no_grad(run)
    }
}

impl ToneModel for TransformerModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn score_targets(
        &self,
        items: &[TargetItem<'_>],
        progress: Progress<'_>,
    ) -> Result<Vec<Tone>, ModelError> {
        self.score_target_items(items, progress)
    }

    fn is_target_dependent(&self) -> bool {
        self.is_target_model()
    }

    fn count_tokens(&self, texts: &[&str]) -> Option<usize> {
        let max = self.max_length();
        Some(
            texts
                .iter()
                .map(|t| self.encoder.tokenizer.encode(t, max).ids.len())
                .sum(),
        )
    }

    fn score(&self, texts: &[&str], progress: Progress<'_>) -> Result<Vec<Tone>, ModelError> {
        if self.is_target_model() {
            // A target model scores a sentence as the tone toward the whole sentence.
            let items: Vec<TargetItem> = texts
                .iter()
                .map(|t| TargetItem {
                    text: t,
                    from: 0,
                    to: t.chars().count(),
                })
                .collect();
            return self.score_target_items(&items, progress);
        }
        let encodings = self.encoder.encode_all(texts, self.max_length());
        let truncated: Vec<bool> = encodings.iter().map(|e| e.truncated).collect();
        let features = self
            .encoder
            .embed_sorted(&encodings, self.settings.batch_size, progress)?;
        self.tones_from_features(&features, &truncated)
    }
}
