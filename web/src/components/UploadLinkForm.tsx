/**
 * The fields of an upload link (password, expiry, file and size limits), shared by the create dialog
 * (drive → folder actions) and the edit dialog (Upload links page).
 */
import type { ReactNode } from 'react';

const MB = 1024 * 1024;

export interface LinkFields {
  password: string;
  /** yyyy-mm-dd, or '' for no expiry. */
  expires: string;
  maxFiles: string;
  /** Megabytes, or '' for no limit. */
  maxMB: string;
}

export const EMPTY_FIELDS: LinkFields = { password: '', expires: '', maxFiles: '', maxMB: '' };

/** The fields of an existing link (the password is never shown: blank keeps it). */
export function fieldsOf(link: { expiresAt: string | null; maxFiles: number | null; maxBytes: number | null }): LinkFields {
  return {
    password: '',
    expires: link.expiresAt ? link.expiresAt.slice(0, 10) : '',
    maxFiles: link.maxFiles === null ? '' : String(link.maxFiles),
    maxMB: link.maxBytes === null ? '' : String(Math.round(link.maxBytes / MB)),
  };
}

/** The limits as the API takes them: null removes (an empty field means no limit). */
export function limitsOf(fields: LinkFields): { expiresAt: string | null; maxFiles: number | null; maxBytes: number | null } {
  return {
    // The end of the chosen day, in the person's time zone.
    expiresAt: fields.expires ? new Date(`${fields.expires}T23:59:59`).toISOString() : null,
    maxFiles: fields.maxFiles ? Number(fields.maxFiles) : null,
    maxBytes: fields.maxMB ? Math.round(Number(fields.maxMB) * MB) : null,
  };
}

export function UploadLinkFields({ fields, onChange, passwordHint, children }: {
  fields: LinkFields;
  onChange: (fields: LinkFields) => void;
  passwordHint: string;
  children?: ReactNode;
}) {
  const set = (key: keyof LinkFields) => (e: { target: { value: string } }) => onChange({ ...fields, [key]: e.target.value });
  return (
    <div className="link-fields">
      <label>
        Password (optional)
        <input type="password" minLength={4} maxLength={128} autoComplete="new-password" value={fields.password} onChange={set('password')} />
        <span className="hint">{passwordHint}</span>
      </label>
      <label>
        Expires on
        <input type="date" value={fields.expires} onChange={set('expires')} />
      </label>
      <label>
        Most files
        <input type="number" min={1} step={1} inputMode="numeric" placeholder="No limit" value={fields.maxFiles} onChange={set('maxFiles')} />
      </label>
      <label>
        Most megabytes in all
        <input type="number" min={1} step={1} inputMode="numeric" placeholder="No limit" value={fields.maxMB} onChange={set('maxMB')} />
      </label>
      {children}
    </div>
  );
}
