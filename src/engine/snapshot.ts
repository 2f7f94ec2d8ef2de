/**
 * Engine state as bytes and back: what a scale-out worker checkpoints per partition (bus/worker-partition.ts)
 * so a takeover restores it and replays only the messages after it, instead of the partition's whole
 * retained history. Generic over the object graph, so a field added to any stateful class is in the next
 * checkpoint without anyone listing it: `take` walks everything reachable from a root and writes it with
 * V8's serializer (which keeps shared references and cycles: a process in the table and in a cluster
 * stays one object); class instances are tagged with their registered name, null-prototype dictionaries
 * as such, so `restoreInto` gives them their prototypes back.
 *
 * What is configuration, not state (the policy's intel, callbacks, compiled rules) is a class's
 * `transient` fields: never written, and kept from the freshly built object a checkpoint is restored
 * into. Restoring goes *into* that fresh graph, field by field along the same paths: an object found at
 * the same place (a Map a closure holds, a table the engine made) is filled in place, so closures that
 * captured it see the restored state. A class that is not registered, a function outside a transient
 * field, a symbol key or an accessor stops `take` with an error naming the path: a checkpoint is
 * complete or it is not made.
 */
import { deserialize, serialize } from 'node:v8';

export interface SnapshotClass {
  /** Stable name written into checkpoints (not the constructor's `name`, which a bundler may change). */
  name: string;
  /** The class (only its prototype is read: a private constructor is fine). */
  ctor: { readonly prototype: object };
  /** Fields that are configuration (intel, callbacks, policy-derived lookups): kept from the object restored into. */
  transient?: readonly string[];
}

/** Tags in the written graph; keys no state object has (a NUL cannot start an identifier we write). */
const CLASS_TAG = '\u0000class';
const NULL_PROTO_TAG = '\u0000null';

type Plain = Record<string, unknown>;

export class SnapshotError extends Error {}

export class Snapshotter {
  private readonly byProto = new Map<object, SnapshotClass>();
  private readonly byName = new Map<string, SnapshotClass>();

  constructor(classes: readonly SnapshotClass[]) {
    for (const c of classes) {
      if (this.byName.has(c.name)) throw new SnapshotError(`snapshot class ${c.name} registered twice`);
      this.byProto.set(c.ctor.prototype, c);
      this.byName.set(c.name, c);
    }
  }

  /** Everything reachable from `root`, transient fields left out, as bytes. */
  take(root: object): Buffer {
    const memo = new Map<object, unknown>();
    return serialize(this.write(root, 'root', memo));
  }

  /**
   * Put the state of `bytes` (taken from a graph built like `fresh`) into `fresh`: every field but the
   * transient ones is replaced, objects found at the same path are filled in place.
   */
  restoreInto(fresh: object, bytes: Buffer): void {
    const decoded = deserialize(bytes) as unknown;
    if (!isObject(decoded) || (decoded as Plain)[CLASS_TAG] === undefined)
      throw new SnapshotError('checkpoint does not hold a class instance at its root');
    const memo = new Map<object, unknown>();
    this.read(decoded, fresh, 'root', memo);
  }

  private write(value: unknown, path: string, memo: Map<object, unknown>): unknown {
    if (typeof value === 'function') throw new SnapshotError(`${path} is a function: state cannot hold one`);
    if (typeof value === 'symbol') throw new SnapshotError(`${path} is a symbol`);
    if (!isObject(value)) return value;
    const seen = memo.get(value);
    if (seen !== undefined) return seen;
    if (value instanceof Map) {
      const out = new Map<unknown, unknown>();
      memo.set(value, out);
      let i = 0;
      for (const [k, v] of value) {
        out.set(this.write(k, `${path}<key ${i}>`, memo), this.write(v, `${path}[${keyText(k)}]`, memo));
        i++;
      }
      return out;
    }
    if (value instanceof Set) {
      const out = new Set<unknown>();
      memo.set(value, out);
      let i = 0;
      for (const v of value) out.add(this.write(v, `${path}{${i++}}`, memo));
      return out;
    }
    if (Array.isArray(value)) {
      const out: unknown[] = new Array(value.length);
      memo.set(value, out);
      for (let i = 0; i < value.length; i++) out[i] = this.write(value[i], `${path}[${i}]`, memo);
      return out;
    }
    if (ArrayBuffer.isView(value) || value instanceof RegExp || value instanceof Date) {
      memo.set(value, value);
      return value;
    }
    const proto = Object.getPrototypeOf(value) as object | null;
    const out: Plain = {};
    memo.set(value, out);
    let transient: readonly string[] | undefined;
    if (proto === null) out[NULL_PROTO_TAG] = true;
    else if (proto !== Object.prototype) {
      const cls = this.byProto.get(proto);
      if (!cls)
        throw new SnapshotError(
          `${path} is an instance of ${(proto.constructor as { name?: string } | undefined)?.name ?? 'an unnamed class'}, which is not registered for snapshots`,
        );
      out[CLASS_TAG] = cls.name;
      transient = cls.transient;
    }
    if (Object.getOwnPropertySymbols(value).length > 0) throw new SnapshotError(`${path} has symbol keys`);
    for (const key of Object.keys(value)) {
      if (transient?.includes(key)) continue;
      const desc = Object.getOwnPropertyDescriptor(value, key);
      if (desc && !('value' in desc)) throw new SnapshotError(`${path}.${key} is an accessor`);
      out[key] = this.write((value as Plain)[key], `${path}.${key}`, memo);
    }
    return out;
  }

  /** The live value for decoded `value`, filling `donor` (what the fresh graph has at this path) when it fits. */
  private read(value: unknown, donor: unknown, path: string, memo: Map<object, unknown>): unknown {
    if (!isObject(value)) return value;
    const seen = memo.get(value);
    if (seen !== undefined) return seen;
    if (value instanceof Map) {
      const out = donor instanceof Map ? donor : new Map<unknown, unknown>();
      memo.set(value, out);
      out.clear();
      for (const [k, v] of value) out.set(this.read(k, undefined, path, memo), this.read(v, undefined, path, memo));
      return out;
    }
    if (value instanceof Set) {
      const out = donor instanceof Set ? donor : new Set<unknown>();
      memo.set(value, out);
      out.clear();
      for (const v of value) out.add(this.read(v, undefined, path, memo));
      return out;
    }
    if (Array.isArray(value)) {
      // an array the fresh graph has here is filled in place, each element into the one at its index
      const out: unknown[] = Array.isArray(donor) ? donor : value;
      memo.set(value, out);
      const donors = out === donor ? [...out] : undefined;
      out.length = value.length;
      for (let i = 0; i < value.length; i++) out[i] = this.read(value[i], donors?.[i], `${path}[${i}]`, memo);
      return out;
    }
    if (ArrayBuffer.isView(value) || value instanceof RegExp || value instanceof Date) {
      memo.set(value, value);
      return value;
    }
    const fields = value as Plain;
    const className = fields[CLASS_TAG];
    let out: Plain;
    let transient: readonly string[] | undefined;
    if (typeof className === 'string') {
      const cls = this.byName.get(className);
      if (!cls) throw new SnapshotError(`${path}: checkpoint names class ${className}, which is not registered`);
      transient = cls.transient;
      const fits = isObject(donor) && Object.getPrototypeOf(donor) === cls.ctor.prototype;
      if (!fits && transient && transient.length > 0)
        throw new SnapshotError(`${path}: a ${className} has configuration fields and nothing to take them from`);
      out = fits ? (donor as Plain) : (Object.create(cls.ctor.prototype) as Plain);
    } else if (fields[NULL_PROTO_TAG] === true) out = Object.create(null) as Plain;
    else out = isPlainObject(donor) ? (donor as Plain) : {};
    memo.set(value, out);
    const donorFields = out === donor ? (donor as Plain) : undefined;
    for (const key of Object.keys(fields)) {
      if (key === CLASS_TAG || key === NULL_PROTO_TAG) continue;
      out[key] = this.read(fields[key], donorFields?.[key], `${path}.${key}`, memo);
    }
    // a field the fresh object has that the checkpoint does not (set since, or absent then): as it was
    if (donorFields)
      for (const key of Object.keys(donorFields))
        if (!(key in fields) && !transient?.includes(key)) delete donorFields[key];
    return out;
  }
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

function isPlainObject(value: unknown): boolean {
  return isObject(value) && Object.getPrototypeOf(value) === Object.prototype;
}

function keyText(key: unknown): string {
  return typeof key === 'string' ? JSON.stringify(key.slice(0, 40)) : String(key).slice(0, 40);
}
