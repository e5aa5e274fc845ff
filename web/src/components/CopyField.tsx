/** A read-only value with a Copy button; without clipboard permission the text is selected instead. */
import { useState } from 'react';

export function CopyField(props: { id: string; label: string; value: string; testId?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'selected'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.value);
      setState('copied');
    } catch {
      // No clipboard permission (or not a secure context): select it for Ctrl+C.
      (document.getElementById(props.id) as HTMLInputElement | null)?.select();
      setState('selected');
    }
  };
  return (
    <div className="copy-field">
      <label className="sr-only" htmlFor={props.id}>
        {props.label}
      </label>
      <input id={props.id} readOnly value={props.value} onFocus={(e) => e.target.select()} data-testid={props.testId} />
      <button type="button" onClick={() => void copy()}>
        {state === 'copied' ? 'Copied ✓' : 'Copy'}
      </button>
      <span className="sr-only" role="status">
        {state === 'copied' ? 'Copied' : ''}
      </span>
      {state === 'selected' && <p className="hint">Copying is not allowed here; the text is selected, press Ctrl+C (or ⌘C) to copy it.</p>}
    </div>
  );
}
