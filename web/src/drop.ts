/** Files out of a drop: plain files, and whole folders through webkitGetAsEntry where the browser has it. */
export interface PickedFile {
  file: File;
  folders: string[];
}

interface Entry {
  isFile: boolean;
  isDirectory: boolean;
  name: string;
}
interface FileEntry extends Entry {
  file(success: (f: File) => void, failure: (e: unknown) => void): void;
}
interface DirEntry extends Entry {
  createReader(): { readEntries(success: (entries: Entry[]) => void, failure: (e: unknown) => void): void };
}

async function walk(entry: Entry, folders: string[], out: PickedFile[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileEntry).file(resolve, reject));
    out.push({ file, folders });
    return;
  }
  if (!entry.isDirectory) return;
  const reader = (entry as DirEntry).createReader();
  const inner = [...folders, entry.name];
  // readEntries answers in batches until an empty one.
  for (;;) {
    const batch = await new Promise<Entry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const child of batch) await walk(child, inner, out);
  }
}

export async function filesFromDrop(data: DataTransfer): Promise<PickedFile[]> {
  const entries: Entry[] = [];
  for (const item of Array.from(data.items)) {
    const getter = (item as DataTransferItem & { webkitGetAsEntry?: () => Entry | null }).webkitGetAsEntry;
    const entry = item.kind === 'file' && getter ? getter.call(item) : null;
    if (entry) entries.push(entry);
  }
  if (entries.length === 0) return Array.from(data.files, (file) => ({ file, folders: [] }));
  const out: PickedFile[] = [];
  for (const entry of entries) await walk(entry, [], out);
  return out;
}

/** Files of an <input type=file> (with webkitdirectory: their folders from webkitRelativePath). */
export function filesFromInput(list: FileList | null): PickedFile[] {
  return Array.from(list ?? [], (file) => {
    const parts = (file.webkitRelativePath || '').split('/').filter(Boolean);
    return { file, folders: parts.slice(0, -1) };
  });
}
