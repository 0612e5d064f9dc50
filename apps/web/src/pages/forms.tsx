import { useId, useState, type FormHTMLAttributes, type ReactNode } from 'react';
import { ApiError } from '../api/client';

/** A labelled control; `children` gets the id to put on the control. */
export function Field({ label, hint, children }: { label: string; hint?: string; children(id: string): ReactNode }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children(id)}
      {hint && <small>{hint}</small>}
    </div>
  );
}

export function Choice<T extends string>({ label, value, options, onChange }: { label: string; value: NoInfer<T>; options: readonly T[]; onChange(value: NoInfer<T>): void }) {
  return (
    <Field label={label}>
      {(id) => (
        <select id={id} value={value} onChange={(event) => onChange(event.target.value as T)}>
          {options.map((option) => (
            <option key={option}>{option}</option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** A form named for assistive technology, whose submit runs `onSubmit` instead of loading a page. */
export function Form({ label, className = 'inline-form', onSubmit, children, ...events }: { label: string; className?: string; onSubmit(): void; children: ReactNode } & Pick<FormHTMLAttributes<HTMLFormElement>, 'onDragOver' | 'onDragLeave' | 'onDrop'>) {
  return (
    <form
      className={className}
      aria-label={label}
      onSubmit={(event) => {
        event.preventDefault();
        onSubmit();
      }}
      {...events}
    >
      {children}
    </form>
  );
}

/** A form's submission: busy while it runs, its error (the API's message) or success note shown. */
export function useSubmission() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const run = async (work: () => Promise<string>) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      setDone(await work());
    } catch (failure) {
      setError(failure instanceof ApiError ? `${failure.message} (HTTP ${failure.status})` : (failure as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, done, run };
}

export function SubmissionStatus({ error, done }: { error: string | null; done: string | null }) {
  return (
    <>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {done && (
        <p role="status" className="done">
          {done}
        </p>
      )}
    </>
  );
}
