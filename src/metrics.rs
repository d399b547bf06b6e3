//! Agreement and calibration metrics shared by `train` (validation) and `bench`.

use crate::model::Label;

/// Pearson correlation; `None` when either side is constant or there are fewer than 2 pairs.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len().min(y.len());
    if n < 2 {
        return None;
    }
    let mx = x[..n].iter().sum::<f64>() / n as f64;
    let my = y[..n].iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (dx, dy) = (x[i] - mx, y[i] - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx == 0.0 || syy == 0.0 {
        None
    } else {
        Some(sxy / (sxx * syy).sqrt())
    }
}

/// Average ranks (ties share the mean rank), from 1.
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman rank correlation.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    pearson(&ranks(x), &ranks(y))
}

/// 3×3 confusion matrix, rows = truth, columns = prediction (negative, neutral, positive).
pub fn confusion(truth: &[Label], pred: &[Label]) -> [[usize; 3]; 3] {
    let mut m = [[0usize; 3]; 3];
    for (t, p) in truth.iter().zip(pred) {
        m[t.index()][p.index()] += 1;
    }
    m
}

/// Share of predictions equal to the truth, in [0, 1]; 0 when there is no truth.
pub(crate) fn accuracy(truth: &[Label], pred: &[Label]) -> f64 {
    if truth.is_empty() {
        return 0.0;
    }
    truth.iter().zip(pred).filter(|(t, p)| t == p).count() as f64 / truth.len() as f64
}

/// Macro-averaged F1 over the classes present in the truth or the predictions.
pub fn macro_f1(truth: &[Label], pred: &[Label]) -> f64 {
    let idx = |v: &[Label]| v.iter().map(|l| l.index()).collect::<Vec<_>>();
    macro_f1_classes(&idx(truth), &idx(pred), 3)
}

/// Macro-averaged F1 of class indices `0..k`, over the classes present in the truth or the
/// predictions (used for the 5 quad classes as for the 3 tone classes).
pub fn macro_f1_classes(truth: &[usize], pred: &[usize], k: usize) -> f64 {
    let mut m = vec![vec![0usize; k]; k];
    for (&t, &p) in truth.iter().zip(pred) {
        if t < k && p < k {
            m[t][p] += 1;
        }
    }
    let mut sum = 0.0;
    let mut classes = 0;
    for (c, row) in m.iter().enumerate() {
        let tp = row[c] as f64;
        let actual: usize = row.iter().sum();
        let predicted: usize = m.iter().map(|r| r[c]).sum();
        if actual == 0 && predicted == 0 {
            continue;
        }
        classes += 1;
        if tp > 0.0 {
            let (p, r) = (tp / predicted as f64, tp / actual as f64);
            sum += 2.0 * p * r / (p + r);
        }
    }
    if classes == 0 {
        0.0
    } else {
        sum / classes as f64
    }
}

/// Expected calibration error of the top-class confidence, with `bins` equal-width bins.
pub fn ece(probs: &[[f32; 3]], truth: &[Label], bins: usize) -> f64 {
    let n = probs.len().min(truth.len());
    if n == 0 {
        return 0.0;
    }
    let mut conf = vec![0.0f64; bins];
    let mut acc = vec![0.0f64; bins];
    let mut count = vec![0usize; bins];
    for i in 0..n {
        let p = probs[i];
        let (best, &c) = p
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap_or((0, &0.0));
        let b = ((c as f64 * bins as f64) as usize).min(bins - 1);
        conf[b] += c as f64;
        acc[b] += (best == truth[i].index()) as u8 as f64;
        count[b] += 1;
    }
    (0..bins)
        .filter(|&b| count[b] > 0)
        .map(|b| (acc[b] - conf[b]).abs() / n as f64)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Label::*;

    #[test]
    fn pearson_and_spearman_on_known_values() {
        let x = [1.0, 2.0, 3.0, 4.0];
        assert!((pearson(&x, &[2.0, 4.0, 6.0, 8.0]).unwrap() - 1.0).abs() < 1e-12);
        assert!((pearson(&x, &[4.0, 3.0, 2.0, 1.0]).unwrap() + 1.0).abs() < 1e-12);
        assert_eq!(pearson(&x, &[1.0; 4]), None);
        // Monotone but not linear: Spearman 1, Pearson below 1.
        let y = [1.0, 10.0, 100.0, 1000.0];
        assert!((spearman(&x, &y).unwrap() - 1.0).abs() < 1e-12);
        assert!(pearson(&x, &y).unwrap() < 0.95);
        assert_eq!(ranks(&[3.0, 1.0, 3.0]), vec![2.5, 1.0, 2.5]);
    }

    #[test]
    fn f1_accuracy_and_confusion() {
        let t = [Negative, Negative, Neutral, Positive];
        let p = [Negative, Neutral, Neutral, Positive];
        assert_eq!(accuracy(&t, &p), 0.75);
        // F1: neg 2/3, neu 2/3, pos 1.
        assert!((macro_f1(&t, &p) - (2.0 / 3.0 + 2.0 / 3.0 + 1.0) / 3.0).abs() < 1e-12);
        assert_eq!(confusion(&t, &p)[0], [1, 1, 0]);
    }

    #[test]
    fn ece_is_zero_when_confidence_matches_accuracy() {
        let probs = [[0.5, 0.25, 0.25], [0.5, 0.25, 0.25]];
        assert!((ece(&probs, &[Negative, Positive], 10)).abs() < 1e-9);
        assert!((ece(&probs, &[Positive, Positive], 10) - 0.5).abs() < 1e-9);
    }
}
