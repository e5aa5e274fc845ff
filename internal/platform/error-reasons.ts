/**
 * Every stable `details.reason` an AppError may carry, closed: AppError's constructor takes only
 * these (errors.ts, ErrorDetails), so a new reason is added here first. Clients branch on them
 * (README: uploads, multipart requests, query limits, shares, download links), so a released one
 * never changes its meaning. `grep -rn "reason:"` finds the places that throw them.
 */
export const ERROR_REASONS = [
  // Accounts, tokens and sessions
  'bad_credentials', 'code_invalid', 'weak_password', 'duplicate_email', 'duplicate_username', 'expired', 'invalid',
  'session_ended', 'refresh_invalid', 'refresh_expired', 'refresh_reused', 'refresh_revoked', 'token_refused',
  'not_a_websocket', 'subscription_over_http', 'csrf_header_missing', 'internal_caller_refused',
  'token_scope', 'session_required', 'too_many_access_tokens', 'expiry_too_far', 'scopes_empty',
  // Rate limits (RateLimiter budgets)
  'code_send_interval', 'code_send_hourly', 'code_send_client', 'login_client_budget', 'login_client_failures',
  'login_failures', 'password_change_failures',
  // Files and folders
  'name_taken', 'name_empty', 'name_too_long', 'name_whitespace', 'name_only_dots', 'name_invalid_character',
  'name_unpaired_surrogate', 'not_a_folder', 'is_folder', 'root', 'move_cycle', 'too_deep', 'page_size',
  'invalid_cursor', 'tree_too_large', 'blob_gone', 'parent_gone',
  // Search (internal/files/search)
  'search_query_empty', 'search_query_too_long',
  // Shares and download links
  'share_password', 'share_password_required', 'share_password_attempts', 'share_password_length', 'expiry_in_past',
  'max_downloads', 'share_unknown', 'share_revoked', 'share_expired', 'share_exhausted', 'share_item_gone',
  'download_link_invalid', 'download_link_expired', 'precondition_failed', 'range_not_satisfiable',
  // Thumbnails (internal/thumbnails)
  'thumbnail_not_ready',
  // Upload sessions and chunks
  'index_out_of_range', 'chunk_length', 'digest_mismatch', 'digest_malformed', 'chunks_missing', 'content_hash_mismatch',
  'size_invalid', 'block_hashes_mismatch', 'block_hashes_count', 'block_hashes_invalid', 'block_hashes_without_content_hash',
  'session_completing', 'chunk_size_invalid', 'size_above_backend_limit', 'session_pending', 'session_uploading',
  'session_paused', 'session_completed', 'session_expired', 'session_cancelled', 'session_failed', 'chunk_in_progress',
  'chunk_lock_lost', 'session_changed', 'no_challenge', 'proof_attempts', 'too_many_sessions',
  // GraphQL multipart requests (api/http/multipart-errors.ts)
  'csrf', 'content_type', 'boundary_missing', 'boundary_mismatch', 'multipart_malformed', 'body_incomplete',
  'operations_missing', 'operations_invalid', 'map_missing', 'map_invalid', 'map_path_invalid', 'map_not_upload',
  'field_unexpected', 'field_too_large', 'too_many_files', 'file_missing', 'file_duplicate', 'file_unexpected',
  'file_too_large',
  // GraphQL requests: query limits (api/graphql/limits.ts) and Apollo's refusals (api/graphql/graphql.errors.ts)
  'too_many_tokens', 'too_many_fields', 'query_too_deep', 'too_many_aliases', 'query_too_costly',
  'graphql_parse_failed', 'graphql_validation_failed', 'bad_user_input', 'persisted_query_not_found',
  'persisted_query_not_supported', 'operation_resolution_failure', 'bad_request',
  // Storage backends, routing and transfers
  'backend_unreachable', 'backend_error', 'backend_auth', 'clock_skew', 'no_such_bucket', 'unknown_backend',
  'router_closed', 'invalid_routing_config', 'unreadable_routing_config', 'amqp_unreachable',
  'source_hash_mismatch', 'target_hash_mismatch', 'target_size_mismatch',
  // The object-store contract (internal/storage; kebab-case, as the stores have always named them)
  'no-such-key', 'no-such-upload', 'range-not-satisfiable', 'range-ignored', 'refused', 'digest-mismatch',
  'size-mismatch', 'part-too-small', 'invalid-part', 'part-order', 'no-parts', 'too-large', 'invalid-key',
  'key-too-long', 'key-conflict', 'invalid-range', 'invalid-expiry', 'invalid-config', 'invalid-argument',
  'malformed-request', 'body-failed', 'invalid-part-number', 'invalid-size',
  // WebDAV writes (api/dav: 423 locked, 412 if_failed; dead properties; locks)
  'locked', 'if_failed', 'lock_token_unknown', 'lock_timeout_invalid', 'property_too_large', 'too_many_properties', 'property_protected',
  // tus 1.0.0 (api/http/tus, internal/uploads/tus)
  'tus_version', 'offset_invalid', 'offset_mismatch', 'metadata_invalid', 'checksum_invalid', 'checksum_algorithm',
  'checksum_mismatch', 'upload_locked', 'beyond_upload_length',
  // File-drop links (internal/uploads/upload-links)
  'upload_link_not_found', 'upload_link_files_limit', 'upload_link_bytes_limit', 'too_many_upload_links',
  'upload_link_unlock_attempts', 'upload_link_creations', 'upload_link_limit_invalid', 'upload_link_password_length',
  'upload_link_password', 'upload_link_password_required',
] as const;

export type ErrorReason = (typeof ERROR_REASONS)[number];
