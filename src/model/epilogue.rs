//! The fp32 encoder's projections for inference, with the element-wise work after each
//! product done in one pass per row: libtorch's `linear` first copies the bias into every
//! output row, then GELU, the residual add and the layer norm each read and write the whole
//! output again. Here the product is a plain `matmul`, and one pass adds the bias and applies
//! GELU (the feed-forward's first projection) or adds the bias and the residual and norms the
//! row while it is in the L1 cache (the attention output and the feed-forward output). Rows
//! are spread over libtorch's threads ([`super::omp`]).

use tch::{nn, Kind, Tensor};

use super::omp;
use super::qlinear::{gelu, Norm};
use super::simd::{dispatched, elements, elements_mut};

/// Fewest rows per thread: below it, handing rows to another thread costs more than it saves.
const MIN_ROWS: usize = 16;

/// `gelu(x · wᵀ + b)` (exact GELU, as `gelu("none")`) for `x` `[…, in]`.
pub(crate) fn project_gelu(lin: &nn::Linear, x: &Tensor) -> Tensor {
    let (mut y, bias) = product(lin, x);
    let width = bias.len();
    each_row_block(&mut y, width, |_, rows| gelu_rows(rows, bias));
    y
}

/// `norm(x · wᵀ + b + residual)` for `x` `[…, in]` and `residual` `[…, out]`.
pub(crate) fn project_add_norm(
    lin: &nn::Linear,
    x: &Tensor,
    residual: &Tensor,
    norm: &Norm,
) -> Tensor {
    let (mut y, bias) = product(lin, x);
    let residual = residual.to_kind(Kind::Float).contiguous();
    let residual = elements::<f32>(&residual);
    let width = bias.len();
    each_row_block(&mut y, width, |first, rows| {
        let residual = &residual[first * width..][..rows.len()];
        add_norm_rows(rows, bias, residual, norm)
    });
    y
}

/// `x · wᵀ` (contiguous) and the bias `b` of `lin`, which must have one.
fn product<'a>(lin: &'a nn::Linear, x: &Tensor) -> (Tensor, &'a [f32]) {
    let bias = lin.bs.as_ref().expect("BERT's projections have biases");
    let y = x.to_kind(Kind::Float).matmul(&lin.ws.tr()).contiguous();
    (y, elements::<f32>(bias))
}

/// Runs `f(first row, rows)` on blocks of whole `width`-float rows of `y`, one per thread.
fn each_row_block(y: &mut Tensor, width: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    let data = elements_mut::<f32>(y);
    let ranges = omp::row_ranges(data.len() / width, MIN_ROWS);
    let f = &f;
    let jobs: Vec<_> = (omp::split_rows(data, &ranges, width).into_iter())
        .zip(&ranges)
        .map(|(rows, r)| move || f(r.start, rows))
        .collect();
    omp::run(jobs);
}

dispatched! {
    /// `y ← gelu(y + bias)` for each row of `y`.
    fn gelu_rows / gelu_rows_avx512 = gelu_rows_any(y: &mut [f32], bias: &[f32])
}

#[inline(always)]
fn gelu_rows_any(y: &mut [f32], bias: &[f32]) {
    for row in y.chunks_exact_mut(bias.len()) {
        for (v, &b) in row.iter_mut().zip(bias) {
            *v = gelu(*v + b);
        }
    }
}

dispatched! {
    /// `y ← norm(y + bias + residual)` for each row of `y` (`residual` as long as `y`).
    fn add_norm_rows / add_norm_rows_avx512 = add_norm_rows_any(
        y: &mut [f32], bias: &[f32], residual: &[f32], norm: &Norm
    )
}

#[inline(always)]
fn add_norm_rows_any(y: &mut [f32], bias: &[f32], residual: &[f32], norm: &Norm) {
    let rows = y.chunks_exact_mut(bias.len());
    for (row, res) in rows.zip(residual.chunks_exact(bias.len())) {
        for ((v, &b), &r) in row.iter_mut().zip(bias).zip(res) {
            *v = *v + b + r;
        }
        norm.apply(row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fused_passes_match_libtorch_s_linear_gelu_and_layer_norm() {
        tch::manual_seed(8);
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let lin = nn::linear(vs.root() / "lin", 24, 40, Default::default());
        let cfg = nn::LayerNormConfig {
            eps: 1e-12,
            ..Default::default()
        };
        let ln = nn::layer_norm(vs.root() / "ln", vec![40], cfg);
        tch::no_grad(|| {
            let ws = ln.ws.as_ref().unwrap().shallow_clone();
            ws.shallow_clone()
                .copy_(&(Tensor::rand([40], (Kind::Float, tch::Device::Cpu)) + 0.5));
        });
        let norm = Norm::new(&ln, 1e-12).unwrap();
        let cpu = (Kind::Float, tch::Device::Cpu);
        let (x, r) = (
            Tensor::randn([3, 50, 24], cpu),
            Tensor::randn([3, 50, 40], cpu),
        );
        let close = |a: &Tensor, b: &Tensor| {
            assert_eq!(a.size(), b.size());
            let diff = (a - b).abs().max().double_value(&[]);
            assert!(diff < 1e-5, "fused against libtorch: {diff}");
        };
        tch::no_grad(|| {
            use nn::Module;
            close(&project_gelu(&lin, &x), &lin.forward(&x).gelu("none"));
            let apart = (lin.forward(&x) + &r).apply(&ln);
            close(&project_add_norm(&lin, &x, &r, &norm), &apart);
        });
    }
}
