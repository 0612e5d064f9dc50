import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';
import type { Pooling } from '@featx/vision';
import type { FeatureLayout } from './pool';

/** One forward pass: NHWC input of n images, transposed and pooled on the worker. */
export interface WorkerRun {
  inputName: string;
  outputName: string;
  /** Its buffer moves to the worker and comes back as `result.nhwc`, for reuse. */
  nhwc: Float32Array;
  n: number;
  height: number;
  width: number;
  layout: FeatureLayout;
  pooling: Pooling;
}

export interface WorkerResult {
  /** Row-major [N, D]. */
  data: Float32Array;
  shape: [number, number];
  /** The raw output's dims. */
  dims: number[];
  /** The input buffer, handed back. */
  nhwc: Float32Array;
}

interface Pending {
  resolve: (value: WorkerResult) => void;
  reject: (error: Error) => void;
}

type WorkerReply =
  | { type: 'ready'; inputNames: string[]; outputNames: string[] }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; data: Float32Array; shape: [number, number]; dims: number[]; nhwc: Float32Array }
  | { type: 'error'; id: number; message: string };

/**
 * An ONNX Runtime session living on its own worker thread (session-worker.js), so forward passes
 * leave this thread's event loop free. Runs are answered in order. The worker keeps the process
 * alive only while a run is pending.
 */
export class WorkerSession {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed?: Error;

  private constructor(
    private readonly worker: Worker,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {
    worker.on('message', (reply: WorkerReply) => this.settle(reply));
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => this.fail(new Error(`ONNX Runtime worker exited (code ${code})`)));
    worker.unref();
  }

  static open(model: string | Uint8Array, options: InferenceSession.SessionOptions): Promise<WorkerSession> {
    const worker = new Worker(path.join(__dirname, 'session-worker.js'), { workerData: { model, options } });
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      worker.once('error', onError);
      worker.once('message', (reply: WorkerReply) => {
        worker.off('error', onError);
        if (reply.type === 'ready') resolve(new WorkerSession(worker, reply.inputNames, reply.outputNames));
        else {
          void worker.terminate();
          reject(new Error(reply.type === 'failed' ? reply.message : `unexpected reply '${reply.type}' from the ONNX Runtime worker`));
        }
      });
    });
  }

  /** One forward pass. `run.nhwc` must own its whole buffer (it is moved to the worker and back). */
  run(run: WorkerRun): Promise<WorkerResult> {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId++;
    if (this.pending.size === 0) this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'run', id, ...run }, [run.nhwc.buffer as ArrayBuffer]);
    });
  }

  async release(): Promise<void> {
    if (this.closed) return;
    this.closed = new Error('ONNX Runtime session is released');
    this.worker.postMessage({ type: 'release' });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => void this.worker.terminate().then(() => resolve()), 5000);
      timer.unref();
      this.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private settle(reply: WorkerReply): void {
    if (reply.type !== 'result' && reply.type !== 'error') return;
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.type === 'error') pending.reject(new Error(reply.message));
    else pending.resolve({ data: reply.data, shape: reply.shape, dims: reply.dims, nhwc: reply.nhwc });
  }

  private fail(error: Error): void {
    this.closed ??= error;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}
