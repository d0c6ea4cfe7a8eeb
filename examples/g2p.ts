// Grapheme-to-phoneme on CMUdict: the Transformer and the GRU + attention baseline (Bahdanau
// et al. 2015) on the same fixed split, printing WER / PER on test and training time per epoch.
// The numbers in docs/SEQ2SEQ.md come from this script:
//
//   npm run build && node dist/examples/g2p.js                  # both models, full run
//   node dist/examples/g2p.js --models transformer --epochs 5  # one model
//   node dist/examples/g2p.js --out runs/g2p                   # also save checkpoints (runs/g2p/<model>)
//   node dist/examples/g2p.js --eval runs/g2p/transformer --beam 4  # re-evaluate a checkpoint
//   node dist/examples/g2p.js --models transformer --resume runs/g2p --epochs 5 --lr 5e-4 --out runs/g2p2
//                                                              # train a saved model (runs/g2p/<model>) further
//
// Options: --models transformer,gru  --epochs N (both)  --transformer-epochs N  --gru-epochs N
//          --train-limit N  --batch-size N  --beam N  --out DIR  --json
//          --resume DIR  --lr X  --epoch-checkpoints (also save DIR/epoch-N/ after each epoch)
//          --size base|large (large: d 256, 3 + 3 layers)

import { parseArgs } from "node:util";
import { backendName } from "../src/index.js";
import { loadG2PCheckpoint, saveG2PCheckpoint } from "../src/tasks/g2p-checkpoint.js";
import { defaultSpec, type ModelKind, type Seq2SeqSpec } from "../src/tasks/seq2seq.js";
import { evaluateG2P, type G2PResult, g2pData, trainG2P } from "../src/tasks/g2p.js";

/** The sizes of the full run (chosen to fit ~20-30 minutes on a 2-core machine); `large` keeps
 * defaultSpec's "small" preset (Transformer d 256, 4 heads, 3 + 3 layers). */
export function g2pSpec(kind: ModelKind, letters: number, phonemes: number, size: "base" | "large" = "base"): Seq2SeqSpec {
  const spec = defaultSpec(kind, letters, phonemes, "small", 64);
  if (size === "large") return spec;
  if (spec.kind === "transformer") Object.assign(spec.config, { dModel: 128, numHeads: 4, dimFeedforward: 512, numEncoderLayers: 2, numDecoderLayers: 2, dropout: 0.1 });
  else Object.assign(spec.config, { embedDim: 64, encoderHidden: 128, decoderHidden: 128, attentionDim: 128, readoutDim: 128, dropout: 0.1 });
  return spec;
}

export const G2P_DEFAULTS: Record<ModelKind, { epochs: number; batchSize: number; lr: number }> = {
  transformer: { epochs: 5, batchSize: 128, lr: 1.5e-3 },
  gru: { epochs: 2, batchSize: 256, lr: 3e-3 },
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      models: { type: "string", default: "transformer,gru" },
      epochs: { type: "string" },
      "transformer-epochs": { type: "string" },
      "gru-epochs": { type: "string" },
      "train-limit": { type: "string" },
      "batch-size": { type: "string" },
      size: { type: "string", default: "base" },
      beam: { type: "string" },
      out: { type: "string" },
      eval: { type: "string" },
      resume: { type: "string" },
      lr: { type: "string" },
      "epoch-checkpoints": { type: "boolean" },
      json: { type: "boolean" },
    },
  });
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  const data = g2pData();
  const log = values.json ? () => {} : console.log;
  if (values.eval) {
    const { model, vocabs } = loadG2PCheckpoint(values.eval);
    const t0 = performance.now();
    const beamSize = num(values.beam);
    const dev = evaluateG2P(model, vocabs, data.dev, { beamSize }), test = evaluateG2P(model, vocabs, data.test, { beamSize });
    const r = {
      checkpoint: values.eval, beam: beamSize ?? 1, testWER: test.wer, testPER: test.per, devWER: dev.wer, devPER: dev.per,
      testWERAnyReference: test.anyReference.wer, testPERAnyReference: test.anyReference.per, seconds: (performance.now() - t0) / 1000,
    };
    console.log(values.json ? JSON.stringify(r) : r);
    return;
  }
  log(`CMUdict split (by word hash): train ${data.train.length}, dev ${data.dev.length}, test ${data.test.length}; backend ${backendName()}`);
  const results: [ModelKind, G2PResult][] = [];
  for (const kind of values.models!.split(",") as ModelKind[]) {
    const d = G2P_DEFAULTS[kind];
    if (!d) throw new RangeError(`g2p example: unknown model "${kind}" (transformer or gru)`);
    const epochs = num(values[`${kind}-epochs`]) ?? num(values.epochs) ?? d.epochs;
    const init = values.resume ? loadG2PCheckpoint(`${values.resume}/${kind}`).model : undefined;
    if (values.size !== "base" && values.size !== "large") throw new RangeError(`g2p example: --size is base or large, got "${values.size}"`);
    const spec = init?.spec ?? g2pSpec(kind, data.letters.size, data.phonemes.size, values.size);
    log(`\n${kind}: ${JSON.stringify(spec.config)}`);
    const r = trainG2P({
      model: kind, spec, epochs, batchSize: num(values["batch-size"]) ?? d.batchSize, lr: num(values.lr) ?? d.lr, initModel: init, trainLimit: num(values["train-limit"]),
      beamSize: num(values.beam), progress: !values.json, devEachEpoch: false,
      onEpoch: (e, model) => {
        log(`${kind} epoch ${e.epoch}: loss ${e.loss.toFixed(4)}, ${e.seconds.toFixed(0)} s, ${Math.round(e.examplesPerSecond)} words/s, ${Math.round(e.tokensPerSecond)} tok/s`);
        // one checkpoint per epoch, for averaging the last few (tsformer average)
        if (values["epoch-checkpoints"] && values.out) {
          saveG2PCheckpoint(`${values.out}/epoch-${e.epoch}/${kind}`, { model, vocabs: { letters: data.letters, phonemes: data.phonemes }, spec });
        }
      },
    });
    log(`${kind}: test WER ${(100 * r.test.wer).toFixed(2)}%, PER ${(100 * r.test.per).toFixed(2)}% (dev WER ${(100 * r.dev.wer).toFixed(2)}%, PER ${(100 * r.dev.per).toFixed(2)}%; ` +
      `test against any CMUdict pronunciation: WER ${(100 * r.test.anyReference.wer).toFixed(2)}%, PER ${(100 * r.test.anyReference.per).toFixed(2)}%), eval ${r.evalSeconds.toFixed(0)} s`);
    if (values.out) saveG2PCheckpoint(`${values.out}/${kind}`, r);
    results.push([kind, r]);
  }
  const rows = results.map(([kind, r]) => ({
    model: kind, parameters: r.parameters, epochs: r.epochs.length, secondsPerEpoch: r.secondsPerEpoch,
    wordsPerSecond: r.epochs.reduce((a, e) => a + e.examplesPerSecond, 0) / r.epochs.length,
    finalLoss: r.epochs[r.epochs.length - 1].loss,
    testWER: r.test.wer, testPER: r.test.per, devWER: r.dev.wer, devPER: r.dev.per,
    testWERAnyReference: r.test.anyReference.wer, testPERAnyReference: r.test.anyReference.per,
  }));
  if (values.json) {
    console.log(JSON.stringify({ backend: backendName(), split: results[0]?.[1].split, results: rows }));
    return;
  }
  console.log("\n| model | parameters | epochs | s / epoch | words / s | test WER | test PER | dev WER | dev PER | test WER, any ref. | test PER, any ref. |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of rows) {
    console.log(`| ${r.model} | ${r.parameters.toLocaleString("en")} | ${r.epochs} | ${r.secondsPerEpoch.toFixed(0)} | ${Math.round(r.wordsPerSecond)} | ` +
      `${(100 * r.testWER).toFixed(2)}% | ${(100 * r.testPER).toFixed(2)}% | ${(100 * r.devWER).toFixed(2)}% | ${(100 * r.devPER).toFixed(2)}% | ` +
      `${(100 * r.testWERAnyReference).toFixed(2)}% | ${(100 * r.testPERAnyReference).toFixed(2)}% |`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
