/** Small inline icons (no icon font, no emoji font needed). Decorative: hidden from assistive tech. */
export function Icon({ kind }: { kind: 'folder' | 'file' }) {
  return (
    <svg className={`ico ico-${kind}`} width="20" height="20" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      {kind === 'folder' ? (
        <path fill="currentColor" d="M3 6.5A1.5 1.5 0 0 1 4.5 5h4.6l2 2h8.4A1.5 1.5 0 0 1 21 8.5v9a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 17.5z" />
      ) : (
        <path fill="currentColor" d="M6.5 3h7.1L19 8.4v11.1a1.5 1.5 0 0 1-1.5 1.5h-11A1.5 1.5 0 0 1 5 19.5v-15A1.5 1.5 0 0 1 6.5 3zm6.5 1.8V9h4.2z" />
      )}
    </svg>
  );
}
