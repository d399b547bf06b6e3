//! Int8 linear layers for inference (`--precision int8`): weights quantized per output channel
//! at load time, activations quantized per token at run time, the product taken by libtorch's
//! integer GEMM (`_int_mm`, oneDNN's VNNI kernels on these CPUs), and the two element-wise
//! passes around it (quantize in, rescale out) done here in one pass each. Those passes run on
//! the calling thread: libtorch's OpenMP workers spin for a while after each parallel region,
//! so threads of our own would fight them for the cores (spread over two threads the passes
//! made the whole run 1.11× slower than the fbgemm path before; on one thread 0.92×).
//!
//! Three rescalings keep the layer accurate:
//! - SmoothQuant (Xiao et al. 2023): input channel j is divided by
//!   `s_j = max|x_j|^α / max|w_·j|^(1−α)` (from a calibration run; α = [`ALPHA`]) and the
//!   weights' column j multiplied by it, so the few channels with huge activations (BERT has
//!   them after its layer norms and GELU) no longer eat the activations' 8-bit range;
//! - per output channel weights: each row is scaled to [−127, 127] and its scale is applied to
//!   the output;
//! - per token activations: each token's (smoothed) input row is scaled to [−127, 127] by its
//!   own largest |value|, so a sentence's result is the same alone as in any batch (integer
//!   products are exact), and the token's scale is multiplied back into its output row.

use std::collections::HashMap;

use tch::{Kind, Tensor};

use super::simd::{dispatched, elements, elements_mut};

/// SmoothQuant's migration strength: on the base encoder with every projection in int8, pooled
/// int8 embeddings have cosine 0.989 / 0.996 / 0.995 / 0.993 / 0.986 (worst of three) to fp32
/// at α = 0.5 / 0.7 / 0.75 / 0.9 / 1.0 (tests/encoder_parity.rs sentences; fbgemm's kernels
/// with one activation range per call, 2026-11-29).
const ALPHA: f64 = 0.75;

/// Token rows are padded to a multiple of this before the integer GEMM: oneDNN builds (and
/// caches) a kernel per matrix shape, and building one costs about as much as a whole product,
/// so shapes must repeat across batches.
const ROW_BUCKET: usize = 64;

/// SmoothQuant's per-input-channel factor `s` for weights `w` `[out, in]` whose inputs reach
/// `x_amax` `[in]` in calibration.
pub(crate) fn smoothing(w: &Tensor, x_amax: &Tensor) -> Tensor {
    let w_amax = w.abs().amax([0i64].as_slice(), false).clamp_min(1e-8);
    (x_amax.clamp_min(1e-5).pow_tensor_scalar(ALPHA) / w_amax.pow_tensor_scalar(1.0 - ALPHA))
        .clamp(1e-2, 1e2)
}

/// A linear layer with int8 weights and per-token int8 activations (see the module docs).
pub(crate) struct QLinear {
    /// `[in, out]`: the row-scaled int8 weights, transposed for `_int_mm`.
    weight_t: Tensor,
    /// `1 / s` per input channel, multiplied into the input; ones when the producer of the
    /// input already divided it by `s` (the attention output's smoothing lives in the value
    /// projection).
    inv_smooth: Vec<f32>,
    /// Each output channel's scale, applied after the int8 product.
    row_scale: Vec<f32>,
    bias: Vec<f32>,
}

impl QLinear {
    /// Quantizes the weight `w` `[out, in]` (with `bias` `[out]`) with the smoothing factor
    /// `smooth` `[in]` (from [`smoothing`]); `input_smoothed` says the caller's input already
    /// arrives divided by it.
    pub(crate) fn new(
        w: &Tensor,
        bias: &Tensor,
        smooth: &Tensor,
        input_smoothed: bool,
    ) -> Result<QLinear, tch::TchError> {
        let w = w.detach().to_kind(Kind::Float) * smooth.unsqueeze(0);
        let rows = w.abs().amax([1i64].as_slice(), true).clamp_min(1e-12);
        let weight_t = (&w / &rows * 127.0)
            .round()
            .clamp(-127.0, 127.0)
            .to_kind(Kind::Int8)
            .tr()
            .contiguous();
        let floats = |t: Tensor| Vec::<f32>::try_from(t.to_kind(Kind::Float).contiguous());
        Ok(QLinear {
            weight_t,
            inv_smooth: match input_smoothed {
                true => floats(smooth.ones_like())?,
                false => floats(smooth.reciprocal())?,
            },
            row_scale: floats(rows.squeeze_dim(1) / 127.0)?,
            bias: floats(bias.detach())?,
        })
    }

    /// The layer as four named tensors (`{prefix}.weight_t`, `.inv_smooth`, `.row_scale`,
    /// `.bias`), for the on-disk cache ([`super::int8_cache`]).
    pub(crate) fn tensors(&self, prefix: &str) -> Vec<(String, Tensor)> {
        let floats = |v: &[f32]| Tensor::from_slice(v);
        vec![
            (format!("{prefix}.weight_t"), self.weight_t.shallow_clone()),
            (format!("{prefix}.inv_smooth"), floats(&self.inv_smooth)),
            (format!("{prefix}.row_scale"), floats(&self.row_scale)),
            (format!("{prefix}.bias"), floats(&self.bias)),
        ]
    }

    /// The layer [`QLinear::tensors`] wrote under `prefix`, if `tensors` hold it with the
    /// kinds and shapes of a `width` → `out` layer.
    pub(crate) fn from_tensors(
        tensors: &HashMap<String, Tensor>,
        prefix: &str,
        width: i64,
        out: i64,
    ) -> Result<QLinear, String> {
        let get = |name: &str, kind: Kind, shape: &[i64]| {
            let key = format!("{prefix}.{name}");
            match tensors.get(&key) {
                Some(t) if t.kind() == kind && t.size() == shape => Ok(t.contiguous()),
                Some(t) => Err(format!(
                    "{key} is {:?} {:?}, expected {kind:?} {shape:?}",
                    t.kind(),
                    t.size()
                )),
                None => Err(format!("{key} is missing")),
            }
        };
        let floats = |name: &str, len: i64| {
            Vec::<f32>::try_from(get(name, Kind::Float, &[len])?).map_err(|e| e.to_string())
        };
        Ok(QLinear {
            weight_t: get("weight_t", Kind::Int8, &[width, out])?,
            inv_smooth: floats("inv_smooth", width)?,
            row_scale: floats("row_scale", out)?,
            bias: floats("bias", out)?,
        })
    }

    /// The output `[…, out]` of `x` `[…, in]`.
    pub(crate) fn forward(&self, x: &Tensor) -> Tensor {
        self.run(x, None, None)
    }

    /// `norm(next.forward(gelu(self.forward(x))) + residual)` (exact GELU, as `gelu("none")`),
    /// with this layer's output going through GELU straight into `next`'s int8 input, one
    /// pass per token row: the feed-forward block's `[tokens, 1536]` activations are never
    /// written in fp32, nor read back by a separate GELU and a separate quantize pass.
    pub(crate) fn gelu_into(
        &self,
        next: &QLinear,
        x: &Tensor,
        residual: &Tensor,
        norm: &Norm,
    ) -> Tensor {
        let x = x.to_kind(Kind::Float).contiguous();
        let input = self.quantize_input(&x);
        let acc = input.q.internal_int_mm(&self.weight_t);
        let (tokens, width) = (input.scales.len(), self.row_scale.len());
        let mut hidden = Quantized::zeroed(tokens, width);
        let (rows, scales) = hidden.parts();
        gelu_quantize_rows(
            &elements(&acc)[..tokens * width],
            &input.scales,
            (&self.row_scale, &self.bias),
            &next.inv_smooth,
            rows,
            scales,
        );
        let y = next.output(&hidden, Some(residual), Some(norm));
        y.view(out_shape(&x, next.row_scale.len()).as_slice())
    }

    /// `norm(self.forward(x) + residual)`, the norm applied to each output row in the
    /// rescale pass that writes it (instead of by libtorch's layer norm in a pass of its own).
    pub(crate) fn forward_add_norm(&self, x: &Tensor, residual: &Tensor, norm: &Norm) -> Tensor {
        self.run(x, Some(residual), Some(norm))
    }

    fn run(&self, x: &Tensor, residual: Option<&Tensor>, norm: Option<&Norm>) -> Tensor {
        let x = x.to_kind(Kind::Float).contiguous();
        let y = self.output(&self.quantize_input(&x), residual, norm);
        y.view(out_shape(&x, self.row_scale.len()).as_slice())
    }

    /// `x`'s rows (contiguous f32), each quantized with its own scale for this layer.
    fn quantize_input(&self, x: &Tensor) -> Quantized {
        let tokens = x.numel() / self.inv_smooth.len();
        let mut input = Quantized::zeroed(tokens, self.inv_smooth.len());
        let (rows, scales) = input.parts();
        quantize_rows(elements(x), &self.inv_smooth, rows, scales);
        input
    }

    /// The output `[tokens, out]` of a quantized input, plus `residual` (as many elements),
    /// then `norm`ed.
    fn output(&self, input: &Quantized, residual: Option<&Tensor>, norm: Option<&Norm>) -> Tensor {
        let (tokens, out) = (input.scales.len(), self.row_scale.len());
        let acc = input.q.internal_int_mm(&self.weight_t);
        let residual = residual.map(|r| r.to_kind(Kind::Float).contiguous());
        let mut y = Tensor::empty([tokens as i64, out as i64], (Kind::Float, input.q.device()));
        rescale_rows(
            &elements(&acc)[..tokens * out],
            &input.scales,
            &self.row_scale,
            &self.bias,
            residual.as_ref().map(elements),
            norm,
            elements_mut(&mut y),
        );
        y
    }
}

/// A layer norm's affine weights and ε, applied by the rescale pass to each output row.
pub(crate) struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
    eps: f32,
}

impl Norm {
    /// The weights of `ln` (ones and zeros where it has none) with its `eps`.
    pub(crate) fn new(ln: &tch::nn::LayerNorm, eps: f64) -> Result<Norm, tch::TchError> {
        let width = ln.normalized_shape.iter().product::<i64>();
        let floats = |t: Option<&Tensor>, fill: f64| match t {
            Some(t) => Vec::<f32>::try_from(t.detach().to_kind(Kind::Float).contiguous()),
            None => Ok(vec![fill as f32; width as usize]),
        };
        Ok(Norm {
            gamma: floats(ln.ws.as_ref(), 1.0)?,
            beta: floats(ln.bs.as_ref(), 0.0)?,
            eps: eps as f32,
        })
    }

    /// Normalizes one row in place: `(y − mean) / √(var + ε) · γ + β` (biased variance, as
    /// libtorch's `layer_norm`), with the sums taken in 16 lanes so that they vectorize.
    #[inline(always)]
    pub(crate) fn apply(&self, y: &mut [f32]) {
        let n = y.len() as f32;
        let mean = lane_sum(y, |v| v) / n;
        let var = lane_sum(y, |v| (v - mean) * (v - mean)) / n;
        let rstd = 1.0 / (var + self.eps).sqrt();
        for ((v, &g), &b) in y.iter_mut().zip(&self.gamma).zip(&self.beta) {
            *v = (*v - mean) * rstd * g + b;
        }
    }
}

/// `Σ f(v)` over `y`, summed in 16 lanes (a fixed order, so it vectorizes without
/// reassociating anything).
#[inline(always)]
fn lane_sum(y: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    const LANES: usize = 16;
    let mut acc = [0f32; LANES];
    let whole = y.len() / LANES * LANES;
    for chunk in y[..whole].chunks_exact(LANES) {
        for l in 0..LANES {
            acc[l] += f(chunk[l]);
        }
    }
    let rest: f32 = y[whole..].iter().map(|&v| f(v)).sum();
    acc.iter().sum::<f32>() + rest
}

/// `x`'s shape with the last dimension `out`.
fn out_shape(x: &Tensor, out: usize) -> Vec<i64> {
    let mut shape = x.size();
    *shape.last_mut().expect("an input has dimensions") = out as i64;
    shape
}

/// Token rows quantized for an integer product: `q` `[padded, width]` (rows past the tokens,
/// up to a whole [`ROW_BUCKET`], are zero) and each token row's scale.
struct Quantized {
    q: Tensor,
    scales: Vec<f32>,
}

impl Quantized {
    /// `tokens` rows of `width` zeros, padded.
    fn zeroed(tokens: usize, width: usize) -> Quantized {
        let padded = tokens.div_ceil(ROW_BUCKET).max(1) * ROW_BUCKET;
        let mut q = Tensor::empty(
            [padded as i64, width as i64],
            (Kind::Int8, tch::Device::Cpu),
        );
        elements_mut::<i8>(&mut q)[tokens * width..].fill(0);
        Quantized {
            q,
            scales: vec![0f32; tokens],
        }
    }

    /// The token rows (not the padding) and their scales, to fill.
    fn parts(&mut self) -> (&mut [i8], &mut [f32]) {
        let n = self.scales.len() * self.q.size()[1] as usize;
        (&mut elements_mut(&mut self.q)[..n], &mut self.scales)
    }
}

dispatched! {
    /// Quantizes each row of `x` (`scales.len()` rows, each times `inv` per channel) into `q`
    /// with its own scale (largest |value| / 127), written to `scales`.
    fn quantize_rows / quantize_rows_avx512 = quantize_rows_any(
        x: &[f32], inv: &[f32], q: &mut [i8], scales: &mut [f32]
    )
}

#[inline(always)]
fn quantize_rows_any(x: &[f32], inv: &[f32], q: &mut [i8], scales: &mut [f32]) {
    let rows = x.chunks_exact(inv.len()).zip(q.chunks_exact_mut(inv.len()));
    for (scale, (x, q)) in scales.iter_mut().zip(rows) {
        *scale = quantize_row(x, inv, q);
    }
}

/// Quantizes `x · inv` (element-wise) into `q`; returns the scale.
#[inline(always)]
fn quantize_row(x: &[f32], inv: &[f32], q: &mut [i8]) -> f32 {
    const LANES: usize = 16;
    assert!(x.len() == inv.len() && x.len() == q.len());
    let mut top = [0f32; LANES];
    let whole = x.len() / LANES * LANES;
    for (xs, is) in x[..whole].chunks_exact(LANES).zip(inv.chunks_exact(LANES)) {
        for l in 0..LANES {
            let v = (xs[l] * is[l]).abs();
            top[l] = if v > top[l] { v } else { top[l] };
        }
    }
    for i in whole..x.len() {
        top[0] = top[0].max((x[i] * inv[i]).abs());
    }
    let max = top.into_iter().fold(0f32, f32::max);
    if max <= 0.0 || !max.is_finite() {
        q.fill(0);
        return 0.0;
    }
    let factor = 127.0 / max;
    for ((q, &x), &i) in q.iter_mut().zip(x).zip(inv) {
        *q = round_small(x * i * factor) as i8;
    }
    max / 127.0
}

dispatched! {
    /// For each token row: `h = acc · scale · row_scale + bias` (as [`rescale_rows`], `lin`
    /// being `(row_scale, bias)`), then `gelu(h)` quantized with `inv` (as [`quantize_rows`])
    /// into `q`, its scale into `scales_out`.
    fn gelu_quantize_rows / gelu_quantize_rows_avx512 = gelu_quantize_rows_any(
        acc: &[i32], scales: &[f32], lin: (&[f32], &[f32]), inv: &[f32], q: &mut [i8],
        scales_out: &mut [f32]
    )
}

#[inline(always)]
fn gelu_quantize_rows_any(
    acc: &[i32],
    scales: &[f32],
    (row_scale, bias): (&[f32], &[f32]),
    inv: &[f32],
    q: &mut [i8],
    scales_out: &mut [f32],
) {
    let width = row_scale.len();
    let mut h = vec![0f32; width];
    let rows = acc.chunks_exact(width).zip(q.chunks_exact_mut(width));
    for ((&s, out), (acc, q)) in scales.iter().zip(scales_out.iter_mut()).zip(rows) {
        let parts = acc.iter().zip(row_scale.iter().zip(bias));
        for (h, (&a, (&rs, &b))) in h.iter_mut().zip(parts) {
            *h = gelu(a as f32 * (s * rs) + b);
        }
        *out = quantize_row(&h, inv, q);
    }
}

/// GELU, `x · Φ(x) = x/2 · (1 + erf(x/√2))` (PyTorch's `gelu(approximate="none")`), with
/// [`erf`]: within 1.4e-6 of the exact value for all x (PyTorch's own: 1.2e-6).
#[inline(always)]
pub(crate) fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// erf(x) within 4.5e-7: the rational approximation `x · P(x²) / Q(x²)` on [−4, 4] of
/// Eigen's and XLA's float `erf` (beyond ±4, erf is ±1 in f32). Branch-free, so it
/// vectorizes, where the C library's `erff` is a call per element.
#[inline(always)]
fn erf(x: f32) -> f32 {
    const ALPHA: [f32; 7] = [
        -2.726_142_3e-10,
        2.770_681_4e-8,
        -2.101_024e-6,
        -5.692_506_4e-5,
        -7.349_906e-4,
        -2.9546e-3,
        -1.609_603_3e-2,
    ];
    const BETA: [f32; 5] = [
        -1.456_607_2e-5,
        -2.133_740_6e-4,
        -1.682_827e-3,
        -7.373_329e-3,
        -1.426_474e-2,
    ];
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let p = ALPHA[1..].iter().fold(ALPHA[0], |p, &a| p * x2 + a);
    let q = BETA[1..].iter().fold(BETA[0], |q, &b| q * x2 + b);
    x * p / q
}

/// `v` rounded to the nearest integer, ties to even (|v| < 2²²): adding 1.5 × 2²³ leaves the
/// rounded value in the low mantissa bits, which vectorizes where `round` is a library call
/// on the baseline x86-64 target.
#[inline(always)]
fn round_small(v: f32) -> i32 {
    const MAGIC: f32 = 12_582_912.0;
    ((v + MAGIC).to_bits() as i32) - MAGIC.to_bits() as i32
}

dispatched! {
    /// `y[t][c] = acc[t][c] · scales[t] · row_scale[c] + bias[c] (+ residual[t][c])`, each
    /// row then `norm`ed while it is still in the L1 cache.
    fn rescale_rows / rescale_rows_avx512 = rescale_rows_any(
        acc: &[i32], scales: &[f32], row_scale: &[f32], bias: &[f32], residual: Option<&[f32]>,
        norm: Option<&Norm>, y: &mut [f32]
    )
}

#[inline(always)]
fn rescale_rows_any(
    acc: &[i32],
    scales: &[f32],
    row_scale: &[f32],
    bias: &[f32],
    residual: Option<&[f32]>,
    norm: Option<&Norm>,
    y: &mut [f32],
) {
    let out = row_scale.len();
    for (t, (y, &s)) in y.chunks_exact_mut(out).zip(scales.iter()).enumerate() {
        let acc = &acc[t * out..][..out];
        let parts = y.iter_mut().zip(acc).zip(row_scale.iter().zip(bias));
        match residual.map(|r| &r[t * out..][..out]) {
            Some(r) => {
                for (((y, &a), (&rs, &b)), &r) in parts.zip(r) {
                    *y = a as f32 * (s * rs) + b + r;
                }
            }
            None => {
                for ((y, &a), (&rs, &b)) in parts {
                    *y = a as f32 * (s * rs) + b;
                }
            }
        }
        if let Some(norm) = norm {
            norm.apply(y);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_small_rounds_to_nearest_with_ties_to_even() {
        for (v, r) in [
            (0.4, 0),
            (0.5, 0),
            (1.5, 2),
            (2.5, 2),
            (-0.6, -1),
            (-1.5, -2),
            (127.0, 127),
        ] {
            assert_eq!(round_small(v), r, "{v}");
        }
        assert_eq!(round_small(-127.0), -127);
    }

    #[test]
    fn a_row_is_quantized_to_its_own_range() {
        let mut q = [0i8; 4];
        let scale = quantize_row(&[0.5, -2.0, 1.0, 0.0], &[1.0, 1.0, 0.5, 1.0], &mut q);
        assert_eq!(scale, 2.0 / 127.0);
        assert_eq!(q, [32, -127, 32, 0]);
        assert_eq!(quantize_row(&[0.0; 4], &[1.0; 4], &mut q), 0.0);
        assert_eq!(q, [0; 4]);
    }

    #[test]
    fn the_int8_product_is_close_to_fp32_and_independent_of_the_batch() {
        tch::manual_seed(3);
        let w = Tensor::randn([48, 32], (Kind::Float, tch::Device::Cpu));
        let b = Tensor::randn([48], (Kind::Float, tch::Device::Cpu));
        let x = Tensor::randn([2, 70, 32], (Kind::Float, tch::Device::Cpu));
        let r = Tensor::randn([2, 70, 48], (Kind::Float, tch::Device::Cpu));
        let smooth = Tensor::ones([32], (Kind::Float, tch::Device::Cpu));
        let lin = QLinear::new(&w, &b, &smooth, false).unwrap();
        let exact = x.linear(&w, Some(&b));
        let y = lin.forward(&x);
        assert_eq!(y.size(), [2, 70, 48]);
        let err = (&y - &exact).norm().double_value(&[]) / exact.norm().double_value(&[]);
        assert!(err < 0.02, "relative error {err}");
        let alone = lin.forward(&x.narrow(0, 1, 1).narrow(1, 5, 1));
        assert!(alone.equal(&y.narrow(0, 1, 1).narrow(1, 5, 1)));
        let added = lin.run(&x, Some(&r), None);
        assert!(added.allclose(&(&y + &r), 1e-5, 1e-5, false));
    }

    #[test]
    fn erf_and_gelu_match_the_exact_functions() {
        // erf at points from Abramowitz & Stegun's table 7.1 (and its odd symmetry).
        for (x, e) in [
            (0.0f32, 0.0f64),
            (0.1, 0.112_462_916_018),
            (0.5, 0.520_499_877_813),
            (1.0, 0.842_700_792_950),
            (1.5, 0.966_105_146_475),
            (2.0, 0.995_322_265_019),
            (3.0, 0.999_977_909_503),
            (9.0, 1.0),
        ] {
            assert!((erf(x) as f64 - e).abs() < 5e-7, "erf({x}) = {}", erf(x));
            assert!((erf(-x) as f64 + e).abs() < 5e-7, "erf(-{x})");
        }
        let x = Tensor::linspace(-8.0, 8.0, 4001, (Kind::Float, tch::Device::Cpu));
        let ours: Vec<f32> = Vec::<f32>::try_from(&x)
            .unwrap()
            .into_iter()
            .map(gelu)
            .collect();
        let torch = Vec::<f32>::try_from(x.gelu("none")).unwrap();
        for (a, b) in ours.iter().zip(&torch) {
            assert!((a - b).abs() < 3e-6, "gelu {a} against libtorch's {b}");
        }
    }

    #[test]
    fn gelu_into_the_next_layer_matches_the_unfused_layers() {
        tch::manual_seed(4);
        let cpu = (Kind::Float, tch::Device::Cpu);
        let (w1, b1) = (Tensor::randn([64, 32], cpu), Tensor::randn([64], cpu));
        let (w2, b2) = (Tensor::randn([32, 64], cpu), Tensor::randn([32], cpu));
        let x = Tensor::randn([3, 50, 32], cpu);
        let r = Tensor::randn([3, 50, 32], cpu);
        let first = QLinear::new(&w1, &b1, &Tensor::ones([32], cpu), false).unwrap();
        let next = QLinear::new(&w2, &b2, &(Tensor::rand([64], cpu) + 0.5), false).unwrap();
        let (_vs, ln, norm) = layer_norm(32);
        let fused = first.gelu_into(&next, &x, &r, &norm);
        let unfused = next
            .run(&first.forward(&x).gelu("none"), Some(&r), None)
            .apply(&ln);
        assert_eq!(fused.size(), [3, 50, 32]);
        let diff = (&fused - &unfused).abs().max().double_value(&[]);
        let size = unfused.abs().max().double_value(&[]);
        // The two GELUs differ by ~1e-6, which can move an int8 rounding by one step.
        assert!(
            diff < 0.02 * size,
            "fused against unfused: {diff} of {size}"
        );
    }

    /// A layer norm over `width` with random weights, and its [`Norm`].
    fn layer_norm(width: i64) -> (tch::nn::VarStore, tch::nn::LayerNorm, Norm) {
        let vs = tch::nn::VarStore::new(tch::Device::Cpu);
        let cfg = tch::nn::LayerNormConfig {
            eps: 1e-12,
            ..Default::default()
        };
        let ln = tch::nn::layer_norm(vs.root(), vec![width], cfg);
        let cpu = (Kind::Float, tch::Device::Cpu);
        let (gamma, beta) = (ln.ws.as_ref().unwrap(), ln.bs.as_ref().unwrap());
        tch::no_grad(|| {
            gamma
                .shallow_clone()
                .copy_(&(Tensor::rand([width], cpu) + 0.5));
            beta.shallow_clone().copy_(&Tensor::randn([width], cpu));
        });
        let norm = Norm::new(&ln, 1e-12).unwrap();
        (vs, ln, norm)
    }

    #[test]
    fn the_norm_in_the_rescale_pass_matches_libtorch_s_layer_norm() {
        tch::manual_seed(6);
        let cpu = (Kind::Float, tch::Device::Cpu);
        let lin = QLinear::new(
            &Tensor::randn([48, 32], cpu),
            &Tensor::randn([48], cpu),
            &Tensor::ones([32], cpu),
            false,
        )
        .unwrap();
        let (x, r) = (
            Tensor::randn([2, 9, 32], cpu),
            Tensor::randn([2, 9, 48], cpu),
        );
        let (_vs, ln, norm) = layer_norm(48);
        let fused = lin.forward_add_norm(&x, &r, &norm);
        let apart = lin.run(&x, Some(&r), None).apply(&ln);
        assert_eq!(fused.size(), [2, 9, 48]);
        let diff = (&fused - &apart).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "fused norm against libtorch's: {diff}");
    }

    #[test]
    fn the_portable_and_the_dispatched_passes_give_the_same_bits() {
        tch::manual_seed(5);
        let (rows, width, out) = (7usize, 37usize, 29usize);
        let floats = |n: usize| {
            Vec::<f32>::try_from(Tensor::randn([n as i64], (Kind::Float, tch::Device::Cpu)) * 3.0)
                .unwrap()
        };
        let (x, inv) = (floats(rows * width), floats(width));
        let (mut q1, mut q2) = (vec![0i8; rows * width], vec![0i8; rows * width]);
        let (mut s1, mut s2) = (vec![0f32; rows], vec![0f32; rows]);
        quantize_rows(&x, &inv, &mut q1, &mut s1);
        quantize_rows_any(&x, &inv, &mut q2, &mut s2);
        assert_eq!((&q1, &s1), (&q2, &s2));
        let acc: Vec<i32> = (0..rows * out)
            .map(|i| (i as i32 * 7919) % 20011 - 10005)
            .collect();
        let (scale, bias, res) = (floats(out), floats(out), floats(rows * out));
        let (mut y1, mut y2) = (vec![0f32; rows * out], vec![0f32; rows * out]);
        let (_vs, _ln, layer_norm) = layer_norm(out as i64);
        for residual in [None, Some(res.as_slice())] {
            for norm in [None, Some(&layer_norm)] {
                rescale_rows(&acc, &s1, &scale, &bias, residual, norm, &mut y1);
                rescale_rows_any(&acc, &s1, &scale, &bias, residual, norm, &mut y2);
                let bits = |y: &[f32]| y.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&y1), bits(&y2));
            }
        }
    }
}
