//! The BERT encoder in tch, layer for layer as Hugging Face's `BertModel` (embeddings →
//! N × [self-attention → add & norm → GELU feed-forward → add & norm]), with attention through
//! libtorch's fused `scaled_dot_product_attention`. Variable names match the safetensors
//! checkpoint and rust-bert's modules (`embeddings.word_embeddings.weight`,
//! `encoder.layer.0.attention.self.query.weight`, …), so the base weights and fine-tuned
//! overlays load unchanged.

use std::borrow::Borrow;

use rust_bert::bert::BertConfig;
use tch::{nn, nn::Module, Kind, Tensor};

struct Layer {
    query: nn::Linear,
    key: nn::Linear,
    value: nn::Linear,
    attn_out: nn::Linear,
    attn_norm: nn::LayerNorm,
    intermediate: nn::Linear,
    output: nn::Linear,
    out_norm: nn::LayerNorm,
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
}

fn ln<'a>(p: impl Borrow<nn::Path<'a>>, dim: i64) -> nn::LayerNorm {
    nn::layer_norm(
        p,
        vec![dim],
        nn::LayerNormConfig {
            eps: 1e-12,
            ..Default::default()
        },
    )
}

impl Bert {
    pub fn new<'a>(p: impl Borrow<nn::Path<'a>>, c: &BertConfig) -> Bert {
        let p = p.borrow();
        let e = p / "embeddings";
        let h = c.hidden_size;
        let lin = |q: nn::Path, i: i64, o: i64| nn::linear(q, i, o, Default::default());
        let layers = (0..c.num_hidden_layers)
            .map(|i| {
                let l = p / "encoder" / "layer" / i;
                let a = &l / "attention";
                Layer {
                    query: lin(&a / "self" / "query", h, h),
                    key: lin(&a / "self" / "key", h, h),
                    value: lin(&a / "self" / "value", h, h),
                    attn_out: lin(&a / "output" / "dense", h, h),
                    attn_norm: ln(&a / "output" / "LayerNorm", h),
                    intermediate: lin(&l / "intermediate" / "dense", h, c.intermediate_size),
                    output: lin(&l / "output" / "dense", c.intermediate_size, h),
                    out_norm: ln(&l / "output" / "LayerNorm", h),
                }
            })
            .collect();
        Bert {
            word: nn::embedding(&e / "word_embeddings", c.vocab_size, h, Default::default()),
            position: nn::embedding(
                &e / "position_embeddings",
                c.max_position_embeddings,
                h,
                Default::default(),
            ),
            token_type: nn::embedding(
                &e / "token_type_embeddings",
                c.type_vocab_size,
                h,
                Default::default(),
            ),
            norm: ln(&e / "LayerNorm", h),
            layers,
            heads: c.num_attention_heads,
            hidden: h,
            dropout: c.hidden_dropout_prob,
            attn_dropout: c.attention_probs_dropout_prob,
        }
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
        let (b, l) = (ids.size()[0], ids.size()[1]);
        let device = ids.device();
        let pos = Tensor::arange(l, (Kind::Int64, device)).unsqueeze(0);
        let types = Tensor::zeros([b, l], (Kind::Int64, device));
        let mut x = (self.word.forward(ids)
            + self.position.forward(&pos)
            + self.token_type.forward(&types))
        .apply(&self.norm)
        .dropout(self.dropout, train);
        // True where a key may be attended to: [batch, 1, 1, len].
        let attend = mask.ne(0).view([b, 1, 1, l]);
        let d = self.hidden / self.heads;
        let split = |t: Tensor| t.view([b, l, self.heads, d]).transpose(1, 2);
        let mut out = Vec::new();
        for layer in &self.layers {
            let q = split(layer.query.forward(&x));
            let k = split(layer.key.forward(&x));
            let v = split(layer.value.forward(&x));
            let ctx = Tensor::scaled_dot_product_attention(
                &q,
                &k,
                &v,
                Some(&attend),
                if train { self.attn_dropout } else { 0.0 },
                false,
                None,
            )
            .transpose(1, 2)
            .contiguous()
            .view([b, l, self.hidden]);
            let a = (layer.attn_out.forward(&ctx).dropout(self.dropout, train) + &x)
                .apply(&layer.attn_norm);
            let i = layer.intermediate.forward(&a).gelu("none");
            x = (layer.output.forward(&i).dropout(self.dropout, train) + &a).apply(&layer.out_norm);
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
