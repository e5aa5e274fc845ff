/**
 * Reads a GraphQL multipart request (jaydenseric/graphql-multipart-request-spec) as it arrives:
 * the 'operations' field, then 'map', then the files, each handed to its resolver as a stream
 * (nothing buffered). Three rules make an answer agree with what was stored:
 *
 * - A file stream ends only once the WHOLE body has been read and found well-formed (closing
 *   delimiter seen, every mapped file present, nothing extra). A resolver commits after its
 *   stream ended, so a body cut short or malformed after the file never leaves a file behind:
 *   its stream fails with the body's error instead.
 * - Every failure (our checks, the parser's, the request stream's) goes through
 *   multipart-errors.ts and fails the whole body once: pending uploads reject, open file streams
 *   are destroyed with that AppError, and the rest of the request is read and dropped.
 * - Bytes nobody reads (a resolver that failed before reading, `discard()`) are dropped, so the
 *   parser always reaches the end of the body and the connection stays usable (RFC 9112 §9.6).
 */
import busboy from 'busboy';
import { parse, type TypeNode } from 'graphql';
import { Upload, type FileUpload } from 'graphql-upload-minimal';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { AppError } from '../../internal/platform/errors.ts';
import { fromParserError, multipartError, type MultipartReason } from './multipart-errors.ts';

export interface MultipartLimits {
  maxFieldBytes: number;
  maxFileBytes: number;
  maxFiles: number;
}

export interface MultipartBody {
  /** The operations with an Upload in place of each mapped file; rejects with an AppError. */
  operations: Promise<Record<string, unknown>>;
  /** Settles once the whole body has been read: null when well-formed, else why not. */
  done: Promise<AppError | null>;
  /** Reads and drops every file byte no resolver took (call once execution has finished). */
  discard(): void;
}

/** A file as its resolver sees it: the bytes pass through; the end waits for the body's verdict. */
class FileBody extends Readable {
  constructor(private readonly source: Readable) {
    super();
    // Failed by the body before anyone listens (the resolver is still checking the name): the
    // error reaches whoever reads later; it must not be unhandled meanwhile.
    this.on('error', () => undefined);
    source.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) source.pause();
    });
  }
  override _read(): void {
    this.source.resume();
  }
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Whoever read this gave up: the rest of the part is dropped so the parser moves on.
    this.source.removeAllListeners('data');
    this.source.resume();
    callback(error);
  }
}

/** graphql-upload-minimal's Upload (the Upload scalar accepts only its instances); settled by us. */
type PendingUpload = Upload & { resolve(file: FileUpload): void; reject(error: unknown): void };

interface Entry {
  upload: PendingUpload;
  body?: FileBody;
}

export function readMultipart(req: IncomingMessage, limits: MultipartLimits): MultipartBody {
  return new MultipartReader(req, limits).start();
}

/** One request's multipart body: the parser's events drive `stage` from operations to map to files. */
class MultipartReader {
  readonly operations: Promise<Record<string, unknown>>;
  readonly done: Promise<AppError | null>;
  private resolveOperations!: (value: Record<string, unknown>) => void;
  private rejectOperations!: (error: AppError) => void;
  private settle!: (verdict: AppError | null) => void;
  private readonly entries = new Map<string, Entry>();
  private stage: 'operations' | 'map' | 'files' = 'operations';
  private parsed: Record<string, unknown> | undefined;
  private sawPart = false;
  private discarding = false;
  private verdict: AppError | null | undefined;
  private parser: busboy.Busboy | undefined;

  constructor(
    private readonly req: IncomingMessage,
    private readonly limits: MultipartLimits,
  ) {
    this.operations = new Promise<Record<string, unknown>>((resolve, reject) => ((this.resolveOperations = resolve), (this.rejectOperations = reject)));
    this.operations.catch(() => undefined);
    this.done = new Promise<AppError | null>((resolve) => (this.settle = resolve));
  }

  start(): MultipartBody {
    const { req, limits } = this;
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        defParamCharset: 'utf8',
        // One byte over the limit makes busboy emit 'limit' (it also does at exactly the limit).
        limits: { fieldSize: limits.maxFieldBytes, fileSize: limits.maxFileBytes + 1 },
      });
    } catch (error) {
      this.fail(fromParserError(error, false));
      return { operations: this.operations, done: this.done, discard: () => undefined };
    }
    this.parser = parser;
    parser.on('field', (name, value, info) => this.onField(name, value, info));
    parser.on('file', (name, stream, info) => this.onFile(name, stream, info));
    parser.on('error', (error) => this.fail(fromParserError(error, this.sawPart)));
    // 'finish': the parser took the whole body, closing delimiter included, and every file part ended.
    parser.on('finish', () => this.succeed());
    req.on('error', (error) => this.fail(fromParserError(error, true)));
    req.on('close', () => {
      if (!req.complete) this.refuse('body_incomplete');
    });
    req.pipe(parser);
    return { operations: this.operations, done: this.done, discard: () => this.discard() };
  }

  private onField(name: string, value: string, info: busboy.FieldInfo): void {
    this.sawPart = true;
    if (info.valueTruncated || info.nameTruncated) return this.refuse('field_too_large', { field: name, limit: this.limits.maxFieldBytes });
    if (this.stage === 'operations') {
      if (name !== 'operations') return this.refuse('operations_missing');
      const ops = parseJson(value);
      if (!isRecord(ops)) return this.refuse('operations_invalid');
      this.parsed = ops;
      this.stage = 'map';
    } else if (this.stage === 'map') {
      if (name !== 'map') return this.refuse('map_missing');
      const problem = applyMap(this.parsed!, parseJson(value), this.limits.maxFiles, this.entries);
      if (problem) return this.refuse(problem.reason, problem.details);
      this.stage = 'files';
      this.resolveOperations(this.parsed!);
    } else {
      this.refuse('field_unexpected', { field: name });
    }
  }

  private onFile(name: string, stream: busboy.FileStream, info: busboy.FileInfo): void {
    this.sawPart = true;
    // The parser destroys a part it could not finish with an error; the body reports it.
    stream.on('error', () => undefined);
    if (this.stage !== 'files' || this.verdict !== undefined) {
      stream.resume();
      return this.refuse(this.stage === 'operations' ? 'operations_missing' : 'map_missing');
    }
    const entry = this.entries.get(name);
    if (!entry || entry.body) {
      stream.resume();
      return this.refuse(entry ? 'file_duplicate' : 'file_unexpected', { file: name });
    }
    const body = new FileBody(stream);
    entry.body = body;
    stream.on('limit', () => this.refuse('file_too_large', { file: name, limit: this.limits.maxFileBytes }));
    if (this.discarding) body.resume();
    const file: FileUpload = {
      fieldName: name,
      filename: info.filename ?? '',
      mimetype: info.mimeType,
      encoding: info.encoding,
      createReadStream: () => body as never,
    };
    entry.upload.resolve(file);
  }

  private fail(error: AppError): void {
    if (this.verdict !== undefined) return;
    this.verdict = error;
    this.rejectOperations(error);
    for (const entry of this.entries.values()) {
      if (entry.body) entry.body.destroy(error);
      else entry.upload.reject(error);
    }
    if (this.parser) {
      this.req.unpipe(this.parser);
      this.parser.destroy();
    }
    // Read and drop the rest. Again on the next turn: a pipe whose last write returned false
    // pauses the request after this frame, even though it was unpiped here.
    this.req.resume();
    setImmediate(() => this.req.resume());
    this.settle(error);
  }

  private refuse(reason: MultipartReason, details?: Record<string, unknown>): void {
    this.fail(multipartError(reason, { details }));
  }

  private succeed(): void {
    if (this.verdict !== undefined) return;
    if (this.stage !== 'files') return this.refuse(this.stage === 'operations' ? 'operations_missing' : 'map_missing');
    const missing = [...this.entries].filter(([, entry]) => !entry.body).map(([name]) => name);
    if (missing.length > 0) return this.refuse('file_missing', { files: missing });
    this.verdict = null;
    for (const entry of this.entries.values()) entry.body?.push(null);
    this.settle(null);
  }

  private discard(): void {
    this.discarding = true;
    for (const entry of this.entries.values()) entry.body?.resume();
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type Problem = { reason: MultipartReason; details?: Record<string, unknown> } | null;

/** Puts an Upload at every path of `map` (spec: "map": { file field name: [object paths] }). */
function applyMap(operations: Record<string, unknown>, map: unknown, maxFiles: number, entries: Map<string, Entry>): Problem {
  if (!isRecord(map) || !Object.values(map).every((paths) => Array.isArray(paths) && paths.length > 0 && paths.every((p) => typeof p === 'string'))) {
    return { reason: 'map_invalid' };
  }
  const names = Object.keys(map);
  if (names.length > maxFiles) return { reason: 'too_many_files', details: { limit: maxFiles } };
  const uploadVariables = uploadVariablesOf(operations);
  for (const name of names) {
    const upload = new Upload() as PendingUpload;
    entries.set(name, { upload });
    for (const path of map[name] as string[]) {
      const segments = path.split('.');
      if (segments[0] !== 'variables' || segments.length < 2) return { reason: 'map_path_invalid', details: { path } };
      const parent = walk(operations, segments.slice(0, -1));
      const last = segments.at(-1)!;
      if (!parent || !Object.hasOwn(parent, last) || (parent as Record<string, unknown>)[last] !== null) return { reason: 'map_path_invalid', details: { path } };
      // Checked here rather than left to variable coercion, whose error would not say which path.
      if (uploadVariables && !uploadVariables.has(segments[1]!)) return { reason: 'map_not_upload', details: { path } };
      (parent as Record<string, unknown>)[last] = upload;
    }
  }
  return null;
}

/** The object or array at `segments` under `root`, own properties only (no `__proto__` walks). */
function walk(root: unknown, segments: string[]): object | undefined {
  let node: unknown = root;
  for (const segment of segments) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, segment)) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return typeof node === 'object' && node !== null ? node : undefined;
}

/** The types a mapped file may go into: Upload, and schema.graphql's input types with an Upload field (uploadFiles). */
export const UPLOAD_TYPES: ReadonlySet<string> = new Set(['Upload', 'UploadFileInput']);

/**
 * Names of the operation's variables whose type is one of UPLOAD_TYPES (or a list of them); undefined when the
 * query does not parse or the operation is ambiguous — GraphQL itself then refuses the request.
 */
function uploadVariablesOf(operations: Record<string, unknown>): Set<string> | undefined {
  if (typeof operations.query !== 'string') return undefined;
  try {
    const document = parse(operations.query, { noLocation: true, maxTokens: 10_000 });
    const ops = document.definitions.filter((d) => d.kind === 'OperationDefinition');
    const op = typeof operations.operationName === 'string' ? ops.find((o) => o.name?.value === operations.operationName) : ops.length === 1 ? ops[0] : undefined;
    if (!op) return undefined;
    const named = (type: TypeNode): string => (type.kind === 'NamedType' ? type.name.value : named(type.type));
    return new Set((op.variableDefinitions ?? []).filter((v) => UPLOAD_TYPES.has(named(v.type))).map((v) => v.variable.name.value));
  } catch {
    return undefined;
  }
}
