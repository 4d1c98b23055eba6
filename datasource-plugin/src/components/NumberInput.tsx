import { Input } from '@grafana/ui';
import React, { useState } from 'react';

interface Props {
  id: string;
  value: number | undefined;
  min: number;
  max: number;
  /** integer refuses fractions (counts, days); thresholds leave it off. */
  integer?: boolean;
  step?: number;
  width?: number;
  placeholder?: string;
  /** onCommit gets a valid number when the field loses focus or Enter is pressed. */
  onCommit: (value: number) => void;
  /** onClear, for an optional number, is called when the field is emptied. */
  onClear?: () => void;
}

/**
 * NumberInput edits a number and commits it on blur or Enter, so a query does not run for every
 * keystroke; a value out of range is shown as invalid and not committed.
 */
export function NumberInput({ id, value, min, max, integer, step, width = 10, placeholder, onCommit, onClear }: Props) {
  const [text, setText] = useState(value === undefined ? '' : String(value));
  // A new value from outside (another editor, undo) replaces what is being typed.
  const [shown, setShown] = useState(value);
  if (value !== shown) {
    setShown(value);
    setText(value === undefined ? '' : String(value));
  }

  const parsed = Number(text);
  const valid =
    text.trim() !== '' &&
    Number.isFinite(parsed) &&
    parsed >= min &&
    parsed <= max &&
    (!integer || Number.isInteger(parsed));

  const commit = () => {
    if (text.trim() === '' && onClear && value !== undefined) {
      onClear();
    } else if (valid && parsed !== value) {
      onCommit(parsed);
    }
  };

  return (
    <Input
      id={id}
      type="number"
      min={min}
      max={max}
      step={step ?? (integer ? 1 : 'any')}
      width={width}
      placeholder={placeholder}
      invalid={text.trim() !== '' && !valid}
      value={text}
      onChange={(e) => setText(e.currentTarget.value)}
      onBlur={commit}
      onKeyDown={(e) => e.key === 'Enter' && commit()}
    />
  );
}
