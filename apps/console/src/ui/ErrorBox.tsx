// The API's own message for a failed request, in one place and one style.
export function ErrorBox(props: { error: Error | string | undefined | null; 'data-testid'?: string }) {
  if (!props.error) return null;
  const message = typeof props.error === 'string' ? props.error : props.error.message;
  return (
    <div className="error" role="alert" data-testid={props['data-testid']}>
      {message}
    </div>
  );
}
