"""Correctness check: medcite's ONNX and NumPy encoders against the torch reference.

The reference is transformers' BertModel (eager attention) on CPU torch 2.13.0, run in a
separate interpreter (default /tmp/torchvenv/bin/python), with sentence-transformers' pooling.

    .venv/bin/python bench/embedding/check_reference.py [--torch-python PATH]

Writes /tmp/ref_sentences.json and /tmp/ref_embeddings.npy, then fails (exit 1) unless every
sentence has cosine similarity > 0.9999 with the reference on both backends.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "src"))

from medcite.retrieval.embedding import Encoder, model_dir  # noqa: E402

THRESHOLD = 0.9999

SENTENCES = [
    "heart attack",
    "myocardial infarction",
    "tax return",
    "What is the first-line treatment for community-acquired pneumonia in adults?",
    "Metformin is the preferred initial pharmacologic agent for type 2 diabetes.",
    "Aspirin reduces the risk of recurrent cardiovascular events after myocardial infarction.",
    "ACE inhibitors may cause a dry cough in up to 20% of patients.",
    "Warfarin requires regular INR monitoring; the usual target range is 2.0-3.0.",
    "Apixaban was non-inferior to warfarin for stroke prevention in atrial fibrillation.",
    "Sepsis is life-threatening organ dysfunction caused by a dysregulated host response to infection.",
    "Give 30 mL/kg of IV crystalloid for hypotension or lactate >= 4 mmol/L.",
    "Statins lower LDL cholesterol by inhibiting HMG-CoA reductase.",
    "Amoxicillin is first-line for acute otitis media in children.",
    "Hyperkalemia can cause peaked T waves on the ECG.",
    "Does vitamin D supplementation prevent fractures in older adults?",
    "Children with bronchiolitis rarely benefit from bronchodilators.",
    "SGLT2 inhibitors reduce hospitalisation for heart failure.",
    "The patient presented with fever, neck stiffness and photophobia.",
    "Lumbar puncture is contraindicated in the presence of raised intracranial pressure.",
    "Beta-blockers improve survival in heart failure with reduced ejection fraction.",
    "Is it safe to take ibuprofen during pregnancy?",
    "Lithium toxicity presents with tremor, ataxia and confusion.",
    "Clozapine requires monitoring of the absolute neutrophil count.",
    "Tuberculosis treatment: isoniazid, rifampicin, pyrazinamide and ethambutol for two months.",
    "HbA1c reflects average blood glucose over the previous 8-12 weeks.",
    "Anaphylaxis: give intramuscular adrenaline 0.5 mg (1:1000) into the anterolateral thigh.",
    "Proton pump inhibitors are associated with an increased risk of C. difficile infection.",
    "COPD exacerbations are often triggered by viral respiratory infections.",
    "Hypothyroidism is treated with levothyroxine, titrated to TSH.",
    "Migraine prophylaxis options include propranolol, topiramate and amitriptyline.",
    "Dexamethasone reduced 28-day mortality in patients with COVID-19 receiving oxygen.",
    "Osteoporosis screening with DXA is recommended for women aged 65 and older.",
    "The Wells score estimates the pre-test probability of pulmonary embolism.",
    "D-dimer has high sensitivity but low specificity for venous thromboembolism.",
    "Insulin glargine is a long-acting basal insulin analogue.",
    "Naloxone reverses opioid-induced respiratory depression.",
    "Hand hygiene is the most effective measure to prevent hospital-acquired infections.",
    "Acute kidney injury is defined by a rise in serum creatinine or a fall in urine output.",
    "Paracetamol (acetaminophen) overdose is treated with N-acetylcysteine.",
    "Ménière's disease: episodic vertigo, tinnitus and fluctuating hearing loss.",
    "β-lactam allergy labels are frequently inaccurate.",
    "Résumé of the café study: naïve participants, coöperation and façade effects.",
    "酸素療法 oxygen therapy for hypoxaemia",
    "CRP",
    "",
    "   ",
    "A 67-year-old man with a history of hypertension, hyperlipidaemia and smoking presents with "
    "crushing central chest pain radiating to the left arm.",
    "In this randomised, double-blind, placebo-controlled trial, 4,744 patients with heart failure "
    "and an ejection fraction of 40% or less were assigned to receive dapagliflozin (10 mg once "
    "daily) or placebo, in addition to recommended therapy.",
    # Longer than 256 tokens: checks truncation matches the reference.
    " ".join(["Randomised controlled trials of anticoagulation in atrial fibrillation showed a "
              "reduction in ischaemic stroke with an acceptable increase in major bleeding."] * 12),
    "Hypertension " * 300,
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--torch-python", default="/tmp/torchvenv/bin/python")
    ap.add_argument("--out-dir", default="/tmp")
    args = ap.parse_args()
    out_dir = Path(args.out_dir)
    sentences_file = out_dir / "ref_sentences.json"
    ref_file = out_dir / "ref_embeddings.npy"
    sentences_file.write_text(json.dumps(SENTENCES, ensure_ascii=False, indent=1))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    subprocess.run([args.torch_python, str(HERE / "worker.py"), "torch", "--sentences", str(sentences_file),
                    "--out", str(ref_file), "--model-dir", str(model_dir()), "--attn", "eager",
                    "--batch-size", "16", "--latency-runs", "1"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    ref = np.load(ref_file)
    ok = True
    cache = Path(tempfile.mkdtemp(prefix="medcite-check-"))  # build the graph afresh, off the user's cache
    for backend in ("onnx", "numpy"):
        emb = Encoder(backend, cache_dir=cache).encode(SENTENCES, batch_size=16)  # type: ignore[arg-type]
        cos = (emb * ref).sum(1)
        worst = int(np.argmin(cos))
        print(f"{backend:6s} min cos {cos.min():.8f} (sentence {worst}: {SENTENCES[worst][:40]!r}), "
              f"max |diff| {np.abs(emb - ref).max():.2e}")
        ok &= bool((cos > THRESHOLD).all())
    shutil.rmtree(cache, ignore_errors=True)
    print(f"{len(SENTENCES)} sentences: {'PASS' if ok else 'FAIL'} (threshold {THRESHOLD})")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
