//! Self-attention for inference, read straight from the fused query/key/value projection and
//! written straight into the `[batch, len, hidden]` layout the next projection reads.
//!
//! News sentences are short (most under 64 tokens), and at those lengths libtorch's fused
//! `scaled_dot_product_attention` spends most of its time around the arithmetic: splitting the
//! heads out, a small `sgemm` call per block, buffers per call, and a transpose back. Here each
//! head of each sequence is one loop nest over the sequence's real keys (padding keys get no
//! weight: the weighted sum skips them, and the last block of scores masks them), vectorized
//! over keys for the scores and over the head's channels for the weighted sum. Sequences are
//! spread over libtorch's threads ([`super::omp`]).

use tch::{Kind, Tensor};

use super::omp;
#[cfg(target_arch = "x86_64")]
use super::simd::has_avx512;
use super::simd::{elements, elements_mut};

/// Real tokens per sequence of an attention mask `[batch, len]` (1 = token, 0 = padding),
/// when every sequence's tokens come first (right padding, as rhetor's batches are built);
/// `None` otherwise, or when the mask is not on the CPU.
pub(crate) fn prefix_lengths(mask: &Tensor) -> Option<Vec<usize>> {
    if mask.device() != tch::Device::Cpu || mask.dim() != 2 {
        return None;
    }
    let m = mask.ne(0).to_kind(Kind::Int64).contiguous();
    let len = m.size()[1] as usize;
    let flags = elements::<i64>(&m);
    flags
        .chunks_exact(len.max(1))
        .map(|row| {
            let n = row.iter().take_while(|&&f| f != 0).count();
            row[n..].iter().all(|&f| f == 0).then_some(n)
        })
        .collect()
}

/// Softmax attention of every head of every sequence: `qkv` `[batch, len, 3 · hidden]` holds
/// each token's query, key and value (as [`super::bert`]'s fused projection gives them),
/// `lens` each sequence's real tokens (keys past them are padding and get no weight; every
/// query row, padding too, is computed). Returns the context `[batch, len, hidden]`, each
/// head's `len × d` block in its own `d` channels, as `scaled_dot_product_attention` followed
/// by merging the heads back gives it (within float rounding).
pub(crate) fn self_attention(qkv: &Tensor, lens: &[usize], heads: usize) -> Tensor {
    let qkv = qkv.to_kind(Kind::Float).contiguous();
    let [b, l, three_h] = qkv.size()[..] else {
        panic!("attention input must be [batch, len, 3 × hidden]");
    };
    let (b, l, hidden) = (b as usize, l as usize, three_h as usize / 3);
    assert!(lens.len() == b && hidden % heads == 0 && lens.iter().all(|&n| n <= l));
    let mut out = Tensor::empty(
        [b as i64, l as i64, hidden as i64],
        (Kind::Float, qkv.device()),
    );
    if b == 0 || l == 0 {
        return out;
    }
    let input = elements::<f32>(&qkv);
    let shape = Shape {
        len: l,
        hidden,
        heads,
    };
    let ranges = omp::row_ranges(b, 1);
    let jobs: Vec<_> = (omp::split_rows(elements_mut(&mut out), &ranges, l * hidden).into_iter())
        .zip(&ranges)
        .map(|(out, r)| {
            let input = &input[r.start * l * 3 * hidden..r.end * l * 3 * hidden];
            let lens = &lens[r.clone()];
            move || attend_sequences(input, lens, shape, out)
        })
        .collect();
    omp::run(jobs);
    out
}

/// True when rhetor's kernel can run heads of `d` channels on this CPU: it is written for
/// AVX-512 with FMA and whole 16-float vectors of channels. Elsewhere the encoder keeps
/// libtorch's attention.
pub(crate) fn supports(d: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    return d.is_multiple_of(LANES) && has_avx512() && is_x86_feature_detected!("fma");
    #[cfg(not(target_arch = "x86_64"))]
    return false;
}

/// A batch's sizes, for the kernel.
#[derive(Clone, Copy)]
struct Shape {
    len: usize,
    hidden: usize,
    heads: usize,
}

/// Vector width the kernel's loops are written for (16 floats: one AVX-512 register).
const LANES: usize = 16;
/// Query rows taken together: their sums are independent, so they overlap in the pipeline,
/// and each key or value vector loaded serves all of them.
const TILE: usize = 8;

/// [`self_attention`] of consecutive sequences: `input` their `[len, 3 · hidden]` rows, `out`
/// their `[len, hidden]` rows.
fn attend_sequences(input: &[f32], lens: &[usize], shape: Shape, out: &mut [f32]) {
    assert!(supports(shape.hidden / shape.heads));
    // SAFETY: the CPU has the features the kernel is built for (checked just above).
    #[cfg(target_arch = "x86_64")]
    unsafe {
        kernel::attend_sequences(input, lens, shape, out)
    }
}

/// The AVX-512 kernel behind [`attend_sequences`].
#[cfg(target_arch = "x86_64")]
mod kernel {
    use std::arch::x86_64::*;

    use super::{Shape, LANES, TILE};

    /// [`super::attend_sequences`], for a CPU with AVX-512 and FMA.
    #[target_feature(enable = "avx2,fma,avx512f,avx512bw,avx512vl")]
    pub(super) fn attend_sequences(input: &[f32], lens: &[usize], shape: Shape, out: &mut [f32]) {
        let Shape { len, hidden, heads } = shape;
        let d = hidden / heads;
        let mut scratch = Scratch::new(len, hidden);
        let rows = input.chunks_exact(len * 3 * hidden);
        for ((seq, &n), out) in rows.zip(lens).zip(out.chunks_exact_mut(len * hidden)) {
            let n = n.clamp(1, len);
            scratch.transpose_keys(seq, hidden, n);
            for h in 0..heads {
                let head = Head {
                    seq,
                    len,
                    stride: 3 * hidden,
                    d,
                    at: [h * d, hidden + h * d, 2 * hidden + h * d],
                    n,
                    n16: n.next_multiple_of(LANES),
                    out_at: h * d,
                };
                for i in (0..len).step_by(TILE) {
                    attend_tile(&head, i, &mut scratch, out);
                }
            }
        }
    }

    /// One head of one sequence.
    struct Head<'a> {
        /// The sequence's `[len, 3 · hidden]` rows.
        seq: &'a [f32],
        /// Rows (tokens, padding included).
        len: usize,
        /// Floats per row of `seq`.
        stride: usize,
        /// Channels per head.
        d: usize,
        /// Where the head's query, key and value channels start in a row.
        at: [usize; 3],
        /// Real keys, and real keys rounded up to whole vectors.
        n: usize,
        n16: usize,
        /// Where the head's channels start in a row of the output (`hidden` floats per row).
        out_at: usize,
    }

    /// The kernel's working memory, allocated once per call.
    struct Scratch {
        /// The sequence's keys transposed, `[hidden, n16]` (so each head's are one `[d, n16]`
        /// block): the keys past `n` are zero, and their lanes are masked out of each row's
        /// maximum and weights.
        keys_t: Vec<f32>,
        /// A tile's scores, `[TILE, n16]`, then its weights.
        scores: Vec<f32>,
    }

    impl Scratch {
        fn new(len: usize, hidden: usize) -> Scratch {
            let len16 = len.next_multiple_of(LANES);
            Scratch {
                keys_t: vec![0.0; hidden * len16],
                scores: vec![0.0; TILE * len16],
            }
        }

        /// Fills `keys_t` from the sequence `seq` (`[len, 3 · hidden]`) with `n` real tokens, in
        /// blocks of 16 tokens × 16 channels transposed in registers.
        #[inline(always)]
        fn transpose_keys(&mut self, seq: &[f32], hidden: usize, n: usize) {
            let n16 = n.next_multiple_of(LANES);
            let keys_t = &mut self.keys_t[..hidden * n16];
            for jb in (0..n16).step_by(LANES) {
                for cb in (0..hidden).step_by(LANES) {
                    let rows = std::array::from_fn(|r| match jb + r < n {
                        true => load(&seq[(jb + r) * 3 * hidden + hidden + cb..]),
                        false => zero(),
                    });
                    for (c, column) in transpose16(rows).into_iter().enumerate() {
                        store(column, &mut keys_t[(cb + c) * n16 + jb..]);
                    }
                }
            }
        }
    }

    /// The 16 columns of the 16 × 16 block whose rows are `r`.
    #[inline(always)]
    fn transpose16(r: [__m512; LANES]) -> [__m512; LANES] {
        // SAFETY: AVX-512, as in `zero`.
        unsafe {
            // Pairs of rows interleaved, within each 128-bit lane of 4 columns.
            let t: [__m512; LANES] = std::array::from_fn(|i| match i % 2 {
                0 => _mm512_unpacklo_ps(r[i], r[i + 1]),
                _ => _mm512_unpackhi_ps(r[i - 1], r[i]),
            });
            // u[4i + k], lane L: column 4L + k, rows 4i .. 4i + 3.
            let u: [__m512; LANES] = std::array::from_fn(|x| {
                let (g, k) = (x / 4 * 4, x % 4);
                let (a, c) = (t[g + k / 2], t[g + 2 + k / 2]);
                match k % 2 {
                    0 => _mm512_shuffle_ps::<0x44>(a, c),
                    _ => _mm512_shuffle_ps::<0xEE>(a, c),
                }
            });
            // Lanes regrouped twice (0x88: lanes 0, 2 of each; 0xDD: lanes 1, 3).
            let v: [__m512; LANES] = std::array::from_fn(|x| {
                let (i, q) = (x % 4, x / 4);
                let (a, b) = match q {
                    0 | 1 => (u[i], u[i + 4]),
                    _ => (u[i + 8], u[i + 12]),
                };
                match q % 2 {
                    0 => _mm512_shuffle_f32x4::<0x88>(a, b),
                    _ => _mm512_shuffle_f32x4::<0xDD>(a, b),
                }
            });
            std::array::from_fn(|x| {
                let (i, q) = (x % 4, x / 4);
                let (a, b) = match q {
                    0 | 2 => (v[i], v[i + 8]),
                    _ => (v[i + 4], v[i + 12]),
                };
                match q {
                    0 | 1 => _mm512_shuffle_f32x4::<0x88>(a, b),
                    _ => _mm512_shuffle_f32x4::<0xDD>(a, b),
                }
            })
        }
    }

    /// The context of query rows `i0 .. i0 + TILE` of `head` (those below `len`; the others
    /// repeat the last row and are not written) into the sequence's output rows `out`
    /// (`[len, hidden]`).
    #[inline(always)]
    fn attend_tile(head: &Head, i0: usize, scratch: &mut Scratch, out: &mut [f32]) {
        let Head {
            seq,
            len,
            stride,
            d,
            at,
            n,
            n16,
            out_at,
        } = *head;
        let keys_t = &scratch.keys_t[(at[1] - stride / 3) * n16..][..d * n16];
        let queries: [&[f32]; TILE] =
            std::array::from_fn(|t| &seq[(i0 + t).min(len - 1) * stride + at[0]..][..d]);
        let scores = &mut scratch.scores[..TILE * n16];
        // Each row's running maximum over its real keys, kept in registers.
        let mut top = [splat(f32::NEG_INFINITY); TILE];
        for b in (0..n16).step_by(LANES) {
            let mut acc = [zero(); TILE];
            for (c, keys) in keys_t.chunks_exact(n16).enumerate() {
                let k = load(&keys[b..]);
                for t in 0..TILE {
                    acc[t] = mul_add(queries[t][c], k, acc[t]);
                }
            }
            let real = real_lanes(n - b);
            for (t, acc) in acc.into_iter().enumerate() {
                store(acc, &mut scores[t * n16 + b..]);
                // SAFETY: AVX-512, as in `zero`.
                top[t] = unsafe { _mm512_mask_max_ps(top[t], real, top[t], acc) };
            }
        }
        let scale = 1.0 / (d as f32).sqrt();
        let mut inv = [0f32; TILE];
        for (t, inv) in inv.iter_mut().enumerate() {
            // SAFETY: AVX-512, as in `zero`.
            let max = unsafe { _mm512_reduce_max_ps(top[t]) };
            *inv = 1.0 / softmax_in_place(&mut scores[t * n16..][..n16], n, max, scale);
        }
        let weights: [&[f32]; TILE] = std::array::from_fn(|t| &scores[t * n16..][..n]);
        let hidden = stride / 3;
        for c in (0..d).step_by(LANES) {
            let mut acc = [zero(); TILE];
            for (j, row) in seq.chunks_exact(stride).take(n).enumerate() {
                let v = load(&row[at[2] + c..]);
                for t in 0..TILE {
                    acc[t] = mul_add(weights[t][j], v, acc[t]);
                }
            }
            for (t, acc) in acc.into_iter().enumerate().take(len.saturating_sub(i0)) {
                store(
                    scaled(acc, inv[t]),
                    &mut out[(i0 + t) * hidden + out_at + c..],
                );
            }
        }
    }

    /// 16 zeros.
    #[inline(always)]
    fn zero() -> __m512 {
        // SAFETY: only called from the kernel, built with AVX-512.
        unsafe { _mm512_setzero_ps() }
    }

    /// The first 16 floats of `x` (which must hold them).
    #[inline(always)]
    pub(super) fn load(x: &[f32]) -> __m512 {
        assert!(x.len() >= LANES);
        // SAFETY: 16 readable floats (checked); AVX-512 as in `zero`.
        unsafe { _mm512_loadu_ps(x.as_ptr()) }
    }

    /// `v` into the first 16 floats of `x` (which must hold them).
    #[inline(always)]
    pub(super) fn store(v: __m512, x: &mut [f32]) {
        assert!(x.len() >= LANES);
        // SAFETY: 16 writable floats (checked); AVX-512 as in `zero`.
        unsafe { _mm512_storeu_ps(x.as_mut_ptr(), v) }
    }

    /// `a · b + c`, `a` broadcast, in one rounding (FMA).
    #[inline(always)]
    fn mul_add(a: f32, b: __m512, c: __m512) -> __m512 {
        // SAFETY: AVX-512 as in `zero`.
        unsafe { _mm512_fmadd_ps(_mm512_set1_ps(a), b, c) }
    }

    /// `v · k`.
    #[inline(always)]
    fn scaled(v: __m512, k: f32) -> __m512 {
        // SAFETY: AVX-512 as in `zero`.
        unsafe { _mm512_mul_ps(v, _mm512_set1_ps(k)) }
    }

    /// The lanes of a 16-key block that hold real keys, `rest` being the real keys from the
    /// block's first on.
    #[inline(always)]
    fn real_lanes(rest: usize) -> __mmask16 {
        match rest >= LANES {
            true => 0xFFFF,
            false => ((1u32 << rest) - 1) as __mmask16,
        }
    }

    /// `s[j] ← exp((s[j] − max) · scale)` for the `n` real keys and 0 past them (`s` whole
    /// vectors long, `max` the largest real score, `scale` > 0); returns the sum.
    #[inline(always)]
    fn softmax_in_place(s: &mut [f32], n: usize, max: f32, scale: f32) -> f32 {
        let max = splat(max);
        let mut sum = zero();
        for b in (0..s.len()).step_by(LANES) {
            // SAFETY: AVX-512, as in `zero`.
            unsafe {
                let e = exp(scaled(_mm512_sub_ps(load(&s[b..]), max), scale));
                let e = _mm512_maskz_mov_ps(real_lanes(n - b), e);
                store(e, &mut s[b..]);
                sum = _mm512_add_ps(sum, e);
            }
        }
        // SAFETY: AVX-512, as in `zero`.
        unsafe { _mm512_reduce_add_ps(sum) }
    }

    /// e^x for each x ≤ 0, within 2 ulp (Cephes' `expf`: x = n·ln 2 + r with |r| ≤ ln 2 / 2, a
    /// degree-6 polynomial for e^r, then scaled by 2^n); e^−87 below −87.
    #[inline(always)]
    pub(super) fn exp(x: __m512) -> __m512 {
        const LN2_HI: f32 = 0.693_359_4;
        const LN2_LO: f32 = -2.121_944_4e-4;
        const P: [f32; 6] = [
            1.987_569_1e-4,
            1.398_199_9e-3,
            8.333_452e-3,
            4.166_579_6e-2,
            1.666_666_5e-1,
            0.5,
        ];
        // SAFETY: AVX-512 and FMA, as in `zero`.
        unsafe {
            let x = _mm512_max_ps(x, splat(-87.0));
            let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
                _mm512_mul_ps(x, splat(std::f32::consts::LOG2_E)),
            );
            let r = _mm512_fnmadd_ps(n, splat(LN2_HI), x);
            let r = _mm512_fnmadd_ps(n, splat(LN2_LO), r);
            let p = P[1..]
                .iter()
                .fold(splat(P[0]), |p, &c| _mm512_fmadd_ps(p, r, splat(c)));
            let e = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, splat(1.0)));
            _mm512_scalef_ps(e, n)
        }
    }

    /// 16 copies of `v`.
    #[inline(always)]
    fn splat(v: f32) -> __m512 {
        // SAFETY: AVX-512, as in `zero`.
        unsafe { _mm512_set1_ps(v) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn exp_is_within_two_ulp_of_the_exact_value() {
        use kernel::{exp, load, store};
        if !supports(LANES) {
            eprintln!("skipped: this CPU does not run rhetor's attention kernel");
            return;
        }
        #[target_feature(enable = "avx2,fma,avx512f,avx512bw,avx512vl")]
        fn exp_of(x: [f32; LANES]) -> [f32; LANES] {
            let mut out = [0f32; LANES];
            store(exp(load(&x)), &mut out);
            out
        }
        // SAFETY: the CPU has the features (checked above).
        let exp_of = |x| unsafe { exp_of(x) };
        for i in (0..=87_000).step_by(LANES) {
            let x: [f32; LANES] = std::array::from_fn(|l| -((i + l) as f32) / 1000.0);
            for (x, ours) in x.into_iter().zip(exp_of(x)) {
                let exact = (x as f64).exp();
                let ulp = (exact as f32).to_bits().abs_diff(ours.to_bits());
                assert!(
                    ulp <= 2 || exact < 1e-37,
                    "exp({x}) = {ours}, exactly {exact}"
                );
            }
        }
        assert_eq!(exp_of([0.0; LANES]), [1.0; LANES]);
        assert_eq!(exp_of([-200.0; LANES]), exp_of([-87.0; LANES]));
    }

    #[test]
    fn an_empty_batch_gives_an_empty_context() {
        let cpu = (Kind::Float, tch::Device::Cpu);
        for (b, l) in [(0i64, 5i64), (2, 0)] {
            let ctx = self_attention(&Tensor::zeros([b, l, 96], cpu), &vec![0; b as usize], 1);
            assert_eq!(ctx.size(), [b, l, 32]);
        }
    }

    #[test]
    fn prefix_lengths_counts_right_padded_tokens_and_refuses_other_masks() {
        let mask = Tensor::from_slice2(&[[1i64, 1, 1, 0], [1, 0, 0, 0]]);
        assert_eq!(prefix_lengths(&mask), Some(vec![3, 1]));
        let left_padded = Tensor::from_slice2(&[[0i64, 1, 1, 1]]);
        assert_eq!(prefix_lengths(&left_padded), None);
    }

    #[test]
    fn attention_matches_libtorch_s_with_the_padding_masked() {
        if !supports(32) {
            eprintln!("skipped: this CPU does not run rhetor's attention kernel");
            return;
        }
        tch::manual_seed(7);
        // Lengths across 16-token blocks and 8-row tiles, heads of 32 channels.
        let (b, l, heads, d) = (4i64, 37i64, 4i64, 32i64);
        let h = heads * d;
        let qkv = Tensor::randn([b, l, 3 * h], (Kind::Float, tch::Device::Cpu)) * 2.0;
        let lens = [37usize, 20, 1, 16];
        let mask = Tensor::from_slice(
            &(0..b as usize)
                .flat_map(|s| (0..l as usize).map(move |t| t < lens[s]))
                .collect::<Vec<_>>(),
        )
        .view([b, 1, 1, l]);
        let split = |t: Tensor| t.view([b, l, heads, d]).transpose(1, 2);
        let parts = qkv.chunk(3, -1);
        let (q, k, v) = (
            split(parts[0].shallow_clone()),
            split(parts[1].shallow_clone()),
            split(parts[2].shallow_clone()),
        );
        let torch = Tensor::scaled_dot_product_attention(&q, &k, &v, Some(&mask), 0.0, false, None)
            .transpose(1, 2)
            .contiguous()
            .view([b, l, h]);
        let ours = self_attention(&qkv, &lens, heads as usize);
        assert_eq!(ours.size(), [b, l, h]);
        let diff = (&ours - &torch).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "ours against libtorch's: {diff}");
    }
}
