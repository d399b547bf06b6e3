//! The BERT encoder in tch, layer for layer as Hugging Face's `BertModel` (embeddings →
//! N × [self-attention → add & norm → GELU feed-forward → add & norm]). Training runs
//! libtorch's layers (`linear`, `scaled_dot_product_attention`, `gelu`, `layer_norm`);
//! inference on the CPU runs rhetor's kernels where they apply: its attention (`attention.rs`)
//! and the one-pass projections of `epilogue.rs` (fp32) or `qlinear.rs` (int8), each checked
//! against libtorch's layers by unit tests. Variable names match the safetensors
//! checkpoint and rust-bert's modules (`embeddings.word_embeddings.weight`,
//! `encoder.layer.0.attention.self.query.weight`, …), so the base weights and fine-tuned
//! overlays load unchanged.

use std::borrow::Borrow;
use std::collections::HashMap;

use serde::Deserialize;
use tch::{nn, nn::Module, Kind, Tensor};

use super::qlinear::{smoothing, Norm, QLinear};
use super::{attention, epilogue};

struct Layer {
    query: nn::Linear,
    key: nn::Linear,
    value: nn::Linear,
    attn_out: nn::Linear,
    attn_norm: nn::LayerNorm,
    intermediate: nn::Linear,
    output: nn::Linear,
    out_norm: nn::LayerNorm,
    /// Int8 copies of the projections after [`Bert::quantize`].
    int8: Option<Int8Layer>,
    /// Query, key and value weights and biases stacked into one `[3 × hidden, hidden]` product
    /// after [`Bert::fuse_qkv`] (inference only: training keeps three separate variables).
    fused_qkv: Option<(Tensor, Tensor)>,
    /// The two layer norms for [`epilogue`]'s fused passes, after [`Bert::fuse_qkv`].
    norms: Option<[Norm; 2]>,
}

/// A layer's int8 projections (see [`Bert::quantize`]).
struct Int8Layer {
    /// Query, key and value fused into one `[3 × hidden, hidden]` product.
    qkv: QLinear,
    attn_out: QLinear,
    intermediate: QLinear,
    /// The feed-forward output. Until 2026-11-29 (night) the first half of the layers kept it in fp32:
    /// its input is the GELU output, whose few huge channels (Bondarenko et al. 2021) cost the
    /// most accuracy when one 8-bit scale covers a whole batch. With a scale per token the
    /// label agreement with fp32 was 0.988 with none in fp32 against 0.993 with layers 0–2
    /// (8,330 training sentences); on the bench suites, with every projection in int8, both
    /// committed models stay within 0.011 of fp32 (README, "Int8"), and the fp32 products
    /// had cost about a tenth of the run.
    output: QLinear,
    /// The layer's two norms, applied inside the rescale passes of `attn_out` and `output`.
    attn_norm: Norm,
    out_norm: Norm,
}

impl Int8Layer {
    /// The four products with their names in [`Bert::int8_tensors`].
    fn parts(&self) -> [(&'static str, &QLinear); 4] {
        [
            ("qkv", &self.qkv),
            ("attn_out", &self.attn_out),
            ("intermediate", &self.intermediate),
            ("output", &self.output),
        ]
    }

    /// Layer `i`'s products from [`Bert::int8_tensors`], checked against the shapes of the
    /// fp32 `layer` (read before its weights are released).
    fn from_tensors(
        tensors: &HashMap<String, Tensor>,
        i: usize,
        layer: &Layer,
        eps: f64,
    ) -> Result<Int8Layer, String> {
        let [ff, h] = layer.intermediate.ws.size()[..] else {
            return Err(format!(
                "layer {i}: the feed-forward weights are already released"
            ));
        };
        let get = |name: &str, width, out| {
            QLinear::from_tensors(tensors, &format!("{i}.{name}"), width, out)
        };
        Ok(Int8Layer {
            qkv: get("qkv", h, 3 * h)?,
            attn_out: get("attn_out", h, h)?,
            intermediate: get("intermediate", h, ff)?,
            output: get("output", ff, h)?,
            attn_norm: Norm::new(&layer.attn_norm, eps).map_err(|e| e.to_string())?,
            out_norm: Norm::new(&layer.out_norm, eps).map_err(|e| e.to_string())?,
        })
    }
}

/// The bias of a linear layer (zeros when it has none).
fn bias_of(lin: &nn::Linear) -> Tensor {
    match &lin.bs {
        Some(b) => b.detach(),
        None => Tensor::zeros([lin.ws.size()[0]], (Kind::Float, lin.ws.device())),
    }
}

impl Layer {
    /// Query, key and value of `x` side by side, `[…, 3 × hidden]`, when the layer has them
    /// in one product (after [`Bert::quantize`] or [`Bert::fuse_qkv`]).
    fn fused_qkv(&self, x: &Tensor) -> Option<Tensor> {
        if let Some(q) = &self.int8 {
            return Some(q.qkv.forward(x));
        }
        let (w, b) = self.fused_qkv.as_ref()?;
        Some(x.linear(w, Some(b)))
    }

    /// Query, key and value of `x`.
    fn qkv(&self, x: &Tensor) -> (Tensor, Tensor, Tensor) {
        if let Some(qkv) = self.fused_qkv(x) {
            let [q, k, v]: [Tensor; 3] = qkv.chunk(3, -1).try_into().expect("three equal parts");
            return (q, k, v);
        }
        (
            self.query.forward(x),
            self.key.forward(x),
            self.value.forward(x),
        )
    }

    /// The feed-forward block's first projection of `x` (before the activation).
    fn feed_forward_in(&self, x: &Tensor) -> Tensor {
        if let Some(q) = &self.int8 {
            return q.intermediate.forward(x);
        }
        self.intermediate.forward(x)
    }

    /// The int8 feed-forward block of `a` plus `a`, normed, with GELU fused into it
    /// ([`QLinear::gelu_into`]), when the layer is int8 and `act` is exact GELU.
    fn int8_gelu_feed_forward(&self, act: Activation, a: &Tensor) -> Option<Tensor> {
        let q = self.int8.as_ref().filter(|_| act == Activation::Gelu)?;
        Some(q.intermediate.gelu_into(&q.output, a, a, &q.out_norm))
    }
}

/// `lin(x) + residual` by libtorch's layers, with dropout on the projection in training (the
/// path without rhetor's fused passes).
fn project_add(lin: &nn::Linear, x: &Tensor, residual: &Tensor, p: f64, train: bool) -> Tensor {
    lin.forward(x).dropout(p, train) + residual
}

/// The encoder's shape and numerics, read from the base's `config.json` (a Hugging Face BERT
/// config; other keys are ignored). `hidden_act` and `layer_norm_eps` are honoured, not
/// assumed.
#[derive(Debug, Clone, Deserialize)]
pub struct EncoderConfig {
    /// Rows of the word-embedding table.
    pub vocab_size: i64,
    /// Width of every token's hidden state (384 for all-MiniLM-L6-v2).
    pub hidden_size: i64,
    /// Transformer layers (6 for all-MiniLM-L6-v2).
    pub num_hidden_layers: i64,
    /// Attention heads per layer; `hidden_size` must be a multiple of it.
    pub num_attention_heads: i64,
    /// Width of each layer's feed-forward block.
    pub intermediate_size: i64,
    /// The feed-forward activation.
    #[serde(default)]
    pub hidden_act: Activation,
    /// Dropout after each projection, in training.
    #[serde(default = "default_dropout")]
    pub hidden_dropout_prob: f64,
    /// Dropout on the attention weights, in training.
    #[serde(default = "default_dropout")]
    pub attention_probs_dropout_prob: f64,
    /// Longest input, in tokens.
    pub max_position_embeddings: i64,
    /// Rows of the token-type table.
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: i64,
    /// Epsilon of every layer norm.
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
}

fn default_dropout() -> f64 {
    0.1
}
fn default_type_vocab() -> i64 {
    2
}
fn default_eps() -> f64 {
    1e-12
}

/// Feed-forward activations of BERT configs (`hidden_act`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// GELU, exact (erf).
    #[default]
    Gelu,
    /// GELU, tanh approximation (`gelu_new`, `gelu_pytorch_tanh`, `gelu_fast`).
    #[serde(alias = "gelu_pytorch_tanh", alias = "gelu_fast")]
    GeluNew,
    /// max(0, x).
    Relu,
}

impl Activation {
    fn apply(self, x: &Tensor) -> Tensor {
        match self {
            Activation::Gelu => x.gelu("none"),
            Activation::GeluNew => x.gelu("tanh"),
            Activation::Relu => x.relu(),
        }
    }
}

/// A BERT encoder without pooler.
pub struct Bert {
    word: nn::Embedding,
    position: nn::Embedding,
    token_type: nn::Embedding,
    norm: nn::LayerNorm,
    layers: Vec<Layer>,
    heads: i64,
    hidden: i64,
    dropout: f64,
    attn_dropout: f64,
    act: Activation,
    /// The layer norms' ε (`layer_norm_eps`), for the int8 path's fused norms.
    norm_eps: f64,
}

fn ln<'a>(p: impl Borrow<nn::Path<'a>>, dim: i64, eps: f64) -> nn::LayerNorm {
    nn::layer_norm(
        p,
        vec![dim],
        nn::LayerNormConfig {
            eps,
            ..Default::default()
        },
    )
}

/// Sees each layer's projection inputs during a calibration pass: `(layer, input)`.
type Observer<'a> = &'a mut dyn FnMut(usize, &Tensor);

impl Bert {
    /// The layers, with variables created under `p` as the checkpoint names them (weights are
    /// loaded into the var store afterwards).
    pub(crate) fn new<'a>(p: impl Borrow<nn::Path<'a>>, c: &EncoderConfig) -> Bert {
        let p = p.borrow();
        let e = p / "embeddings";
        let h = c.hidden_size;
        // Variables start at zero, not random: every one is overwritten by the checkpoint
        // (`VarStore::load` fails on a missing one), and filling zeros costs a fraction of
        // drawing 22M random numbers at each load.
        let zero = nn::Init::Const(0.0);
        let lin_cfg = nn::LinearConfig {
            ws_init: zero,
            bs_init: Some(zero),
            bias: true,
        };
        let emb_cfg = nn::EmbeddingConfig {
            ws_init: zero,
            ..Default::default()
        };
        let lin = |q: nn::Path, i: i64, o: i64| nn::linear(q, i, o, lin_cfg);
        let layers = (0..c.num_hidden_layers)
            .map(|i| {
                let l = p / "encoder" / "layer" / i;
                let a = &l / "attention";
                Layer {
                    query: lin(&a / "self" / "query", h, h),
                    key: lin(&a / "self" / "key", h, h),
                    value: lin(&a / "self" / "value", h, h),
                    attn_out: lin(&a / "output" / "dense", h, h),
                    attn_norm: ln(&a / "output" / "LayerNorm", h, c.layer_norm_eps),
                    intermediate: lin(&l / "intermediate" / "dense", h, c.intermediate_size),
                    output: lin(&l / "output" / "dense", c.intermediate_size, h),
                    out_norm: ln(&l / "output" / "LayerNorm", h, c.layer_norm_eps),
                    int8: None,
                    fused_qkv: None,
                    norms: None,
                }
            })
            .collect();
        Bert {
            word: nn::embedding(&e / "word_embeddings", c.vocab_size, h, emb_cfg),
            position: nn::embedding(
                &e / "position_embeddings",
                c.max_position_embeddings,
                h,
                emb_cfg,
            ),
            token_type: nn::embedding(&e / "token_type_embeddings", c.type_vocab_size, h, emb_cfg),
            norm: ln(&e / "LayerNorm", h, c.layer_norm_eps),
            layers,
            heads: c.num_attention_heads,
            hidden: h,
            dropout: c.hidden_dropout_prob,
            attn_dropout: c.attention_probs_dropout_prob,
            act: c.hidden_act,
            norm_eps: c.layer_norm_eps,
        }
    }

    /// Replaces the projections of every layer by int8 copies of their current weights
    /// (inference only: call after all weights are loaded; training needs fp32), calibrated on
    /// the padded batch `ids`/`mask` (a few dozen ordinary sentences are enough).
    pub fn quantize(&mut self, ids: &Tensor, mask: &Tensor) -> Result<(), tch::TchError> {
        let amax = self.input_ranges(ids, mask);
        let int8 = (self.layers.iter().zip(&amax))
            .map(|(layer, ranges)| Self::quantize_layer(layer, ranges, self.norm_eps))
            .collect::<Result<Vec<_>, _>>()?;
        self.install_int8(int8);
        Ok(())
    }

    /// The int8 products of every layer as named tensors (empty before [`Bert::quantize`]),
    /// for [`super::int8_cache`].
    pub(crate) fn int8_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            if let Some(q) = &layer.int8 {
                for (name, lin) in q.parts() {
                    out.extend(lin.tensors(&format!("{i}.{name}")));
                }
            }
        }
        out
    }

    /// Switches to the int8 products that [`Bert::int8_tensors`] gave for this encoder (the
    /// result of [`Bert::quantize`] without its calibration run). Fails, changing nothing,
    /// when a tensor is missing or has another shape.
    pub(crate) fn load_int8(&mut self, tensors: &HashMap<String, Tensor>) -> Result<(), String> {
        let int8 = (self.layers.iter().enumerate())
            .map(|(i, layer)| Int8Layer::from_tensors(tensors, i, layer, self.norm_eps))
            .collect::<Result<Vec<_>, _>>()?;
        self.install_int8(int8);
        Ok(())
    }

    /// Makes `int8` the layers' projections.
    fn install_int8(&mut self, int8: Vec<Int8Layer>) {
        for (layer, q) in self.layers.iter_mut().zip(int8) {
            layer.int8 = Some(q);
            // The int8 products replace these fp32 weights for good: release their memory.
            let replaced = [
                &layer.query,
                &layer.key,
                &layer.value,
                &layer.attn_out,
                &layer.intermediate,
                &layer.output,
            ];
            for lin in replaced {
                let mut ws = lin.ws.shallow_clone();
                ws.set_data(&Tensor::empty([0], (Kind::Float, ws.device())));
            }
        }
    }

    /// The int8 products of `layer` from its projections' input ranges. The attention output's
    /// smoothing factor is folded into the value projection's rows (each context channel is a
    /// weighted sum of the same value channel), so its input needs no rescaling.
    fn quantize_layer(
        layer: &Layer,
        ranges: &[Tensor; 4],
        eps: f64,
    ) -> Result<Int8Layer, tch::TchError> {
        let one = |lin: &nn::Linear, x: &Tensor| {
            QLinear::new(&lin.ws, &bias_of(lin), &smoothing(&lin.ws, x), false)
        };
        let s_out = smoothing(&layer.attn_out.ws, &ranges[1]);
        let (q, k, v) = (&layer.query, &layer.key, &layer.value);
        let (q_w, k_w, v_w) = (q.ws.detach(), k.ws.detach(), v.ws.detach());
        // The input's smoothing is chosen on the weights as trained: scaling whole rows does
        // not change their int8 values, only their row scales.
        let s_in = smoothing(&Tensor::cat(&[&q_w, &k_w, &v_w], 0), &ranges[0]);
        let qkv_w = Tensor::cat(&[q_w, k_w, v_w / s_out.unsqueeze(1)], 0);
        let qkv_b = Tensor::cat(&[bias_of(q), bias_of(k), bias_of(v) / &s_out], 0);
        Ok(Int8Layer {
            qkv: QLinear::new(&qkv_w, &qkv_b, &s_in, false)?,
            attn_out: QLinear::new(&layer.attn_out.ws, &bias_of(&layer.attn_out), &s_out, true)?,
            intermediate: one(&layer.intermediate, &ranges[2])?,
            output: one(&layer.output, &ranges[3])?,
            attn_norm: Norm::new(&layer.attn_norm, eps)?,
            out_norm: Norm::new(&layer.out_norm, eps)?,
        })
    }

    /// Per layer and projection, the largest |input| per channel over the real tokens of a
    /// calibration batch, from an fp32 forward pass.
    fn input_ranges(&self, ids: &Tensor, mask: &Tensor) -> Vec<[Tensor; 4]> {
        let mut ranges: Vec<Vec<Tensor>> = (0..self.layers.len()).map(|_| Vec::new()).collect();
        let keep = mask.ne(0).unsqueeze(-1);
        let mut observe = |layer: usize, x: &Tensor| {
            let real = x.abs() * &keep;
            let flat = real.view([-1, x.size()[2]]);
            ranges[layer].push(flat.amax([0i64].as_slice(), false));
        };
        tch::no_grad(|| self.run(ids, mask, false, false, Some(&mut observe)));
        ranges
            .into_iter()
            .map(|r| r.try_into().expect("four inputs per layer"))
            .collect()
    }

    /// Stacks every layer's query, key and value projections into one matrix product (one
    /// GEMM instead of three per layer), for inference: call after all weights (base and
    /// overlay) are loaded; training must not call it (the stacked copy gets no gradient).
    /// The three weights then become views into the stacked one, so fusing costs no memory.
    /// It also readies the fp32 inference passes (`epilogue.rs`) and, with the stacked
    /// product, rhetor's attention kernel (`attention.rs`).
    pub fn fuse_qkv(&mut self) {
        for layer in &mut self.layers {
            let (q, k, v) = (&layer.query, &layer.key, &layer.value);
            let w = Tensor::cat(&[q.ws.detach(), k.ws.detach(), v.ws.detach()], 0);
            let b = Tensor::cat(&[bias_of(q), bias_of(k), bias_of(v)], 0);
            let h = layer.query.ws.size()[0];
            for (i, lin) in [&mut layer.query, &mut layer.key, &mut layer.value]
                .into_iter()
                .enumerate()
            {
                lin.ws.set_data(&w.narrow(0, i as i64 * h, h));
            }
            layer.fused_qkv = Some((w, b));
            let norm = |ln: &nn::LayerNorm| Norm::new(ln, self.norm_eps);
            layer.norms = match (norm(&layer.attn_norm), norm(&layer.out_norm)) {
                (Ok(a), Ok(o)) => Some([a, o]),
                _ => None,
            };
        }
    }

    /// True when [`Bert::quantize`] has run.
    pub fn is_int8(&self) -> bool {
        self.layers.first().is_some_and(|l| l.int8.is_some())
    }

    /// Runs the encoder on `ids` `[batch, len]` with `mask` (1 = token, 0 = padding). Returns
    /// the output of every layer when `all_layers`, else only the last one.
    pub fn forward(
        &self,
        ids: &Tensor,
        mask: &Tensor,
        train: bool,
        all_layers: bool,
    ) -> Vec<Tensor> {
        self.run(ids, mask, train, all_layers, None)
    }

    /// `layer`'s attention context `[batch, len, hidden]` for `x` by libtorch's
    /// `scaled_dot_product_attention` (training, and masks other than right padding).
    fn libtorch_attention(&self, layer: &Layer, x: &Tensor, mask: &Tensor, train: bool) -> Tensor {
        let (b, l) = (x.size()[0], x.size()[1]);
        // True where a key may be attended to: [batch, 1, 1, len].
        let attend = mask.ne(0).view([b, 1, 1, l]);
        let d = self.hidden / self.heads;
        let split = |t: Tensor| t.view([b, l, self.heads, d]).transpose(1, 2);
        let (q, k, v) = layer.qkv(x);
        let (q, k, v) = (split(q), split(k), split(v));
        let p = if train { self.attn_dropout } else { 0.0 };
        Tensor::scaled_dot_product_attention(&q, &k, &v, Some(&attend), p, false, None)
            .transpose(1, 2)
            .contiguous()
            .view([b, l, self.hidden])
    }

    /// `layer`'s feed-forward block on the attention block's output `a`, plus `a`, normed;
    /// `fused` holds the layer's norms when the fp32 passes of [`epilogue`] apply, and `see`
    /// gets the activation (the output projection's input) when it is computed apart.
    fn feed_forward(
        &self,
        layer: &Layer,
        a: &Tensor,
        fused: Option<&[Norm; 2]>,
        train: bool,
        see: &mut dyn FnMut(&Tensor),
    ) -> Tensor {
        if let Some(x) = layer.int8_gelu_feed_forward(self.act, a) {
            return x;
        }
        let i = match (fused, self.act) {
            (Some(_), Activation::Gelu) => epilogue::project_gelu(&layer.intermediate, a),
            _ => self.act.apply(&layer.feed_forward_in(a)),
        };
        see(&i);
        match (&layer.int8, fused) {
            (Some(q), _) => q.output.forward_add_norm(&i, a, &q.out_norm),
            (None, Some([_, norm])) => epilogue::project_add_norm(&layer.output, &i, a, norm),
            (None, None) => {
                project_add(&layer.output, &i, a, self.dropout, train).apply(&layer.out_norm)
            }
        }
    }

    /// [`Bert::forward`], passing each layer's four projection inputs (hidden state,
    /// attention context, attention output, GELU output) to `observe`.
    fn run(
        &self,
        ids: &Tensor,
        mask: &Tensor,
        train: bool,
        all_layers: bool,
        mut observe: Option<Observer<'_>>,
    ) -> Vec<Tensor> {
        let (b, l) = (ids.size()[0], ids.size()[1]);
        let device = ids.device();
        let pos = Tensor::arange(l, (Kind::Int64, device)).unsqueeze(0);
        let types = Tensor::zeros([b, l], (Kind::Int64, device));
        let mut x = (self.word.forward(ids)
            + self.position.forward(&pos)
            + self.token_type.forward(&types))
        .apply(&self.norm)
        .dropout(self.dropout, train);
        // Real tokens per sequence, for rhetor's own attention kernel (inference only).
        let ours = !train && attention::supports((self.hidden / self.heads) as usize);
        let lens = ours.then(|| attention::prefix_lengths(mask)).flatten();
        let mut out = Vec::new();
        for (n, layer) in self.layers.iter().enumerate() {
            let mut see = |t: &Tensor| {
                if let Some(f) = observe.as_mut() {
                    f(n, t)
                }
            };
            see(&x);
            let ours = lens.as_ref().and_then(|l| Some((l, layer.fused_qkv(&x)?)));
            let ctx = match ours {
                Some((lens, qkv)) => attention::self_attention(&qkv, lens, self.heads as usize),
                None => self.libtorch_attention(layer, &x, mask, train),
            };
            see(&ctx);
            let on_cpu = x.device() == tch::Device::Cpu;
            let fused = layer.norms.as_ref().filter(|_| !train && on_cpu);
            let a = match (&layer.int8, fused) {
                (Some(q), _) => q.attn_out.forward_add_norm(&ctx, &x, &q.attn_norm),
                (None, Some([norm, _])) => {
                    epilogue::project_add_norm(&layer.attn_out, &ctx, &x, norm)
                }
                (None, None) => project_add(&layer.attn_out, &ctx, &x, self.dropout, train)
                    .apply(&layer.attn_norm),
            };
            see(&a);
            x = self.feed_forward(layer, &a, fused, train, &mut see);
            if all_layers {
                out.push(x.shallow_clone());
            }
        }
        if !all_layers {
            out.push(x);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINI: &str = r#"{"vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1,
        "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 32"#;

    #[test]
    fn config_honours_activation_and_layer_norm_eps() {
        let c: EncoderConfig = serde_json::from_str(&format!(
            "{MINI}, \"hidden_act\": \"relu\", \"layer_norm_eps\": 1e-5}}"
        ))
        .unwrap();
        assert_eq!((c.hidden_act, c.layer_norm_eps), (Activation::Relu, 1e-5));
        let d: EncoderConfig = serde_json::from_str(&format!("{MINI}}}")).unwrap();
        assert_eq!((d.hidden_act, d.layer_norm_eps), (Activation::Gelu, 1e-12));
        let tanh: EncoderConfig =
            serde_json::from_str(&format!("{MINI}, \"hidden_act\": \"gelu_pytorch_tanh\"}}"))
                .unwrap();
        assert_eq!(tanh.hidden_act, Activation::GeluNew);
    }

    #[test]
    fn an_unknown_activation_is_an_error_not_a_silent_gelu() {
        let e =
            serde_json::from_str::<EncoderConfig>(&format!("{MINI}, \"hidden_act\": \"swish\"}}"));
        assert!(e.unwrap_err().to_string().contains("swish"));
    }
}
