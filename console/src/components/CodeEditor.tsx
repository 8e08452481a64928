/** CodeMirror 6 editor (SQL or JSON) with syntax highlighting; follows the console theme. */
import { useEffect, useRef } from 'react';
import { EditorView, basicSetup } from 'codemirror';
import { EditorState, Compartment, type Extension } from '@codemirror/state';
import { sql, PostgreSQL } from '@codemirror/lang-sql';
import { json } from '@codemirror/lang-json';
import { oneDarkTheme } from '@codemirror/theme-one-dark';
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { tags as t } from '@lezer/highlight';

/** One Dark's editor colours with brighter syntax colours (WCAG AA contrast on its background; axe-checked). */
const darkHighlight = HighlightStyle.define([
  { tag: [t.keyword, t.operatorKeyword, t.modifier], color: '#e2b3ff' },
  { tag: [t.string, t.special(t.string)], color: '#b5e8a0' },
  { tag: [t.number, t.bool, t.null, t.atom], color: '#ffc98f' },
  { tag: [t.comment, t.lineComment, t.blockComment], color: '#a9b3bf', fontStyle: 'italic' },
  { tag: [t.operator, t.punctuation, t.bracket], color: '#c8d3df' },
  { tag: [t.typeName, t.className, t.propertyName, t.definition(t.name)], color: '#8fd3ff' },
  { tag: [t.name, t.variableName], color: '#e6ebf1' },
  { tag: t.invalid, color: '#ff8b8b' },
]);
const oneDark = [oneDarkTheme, syntaxHighlighting(darkHighlight)];

export interface CodeEditorProps {
  value: string;
  onChange: (v: string) => void;
  language: 'sql' | 'json';
  label: string;
  dark: boolean;
  minHeight?: number;
  /** Table names offered by autocompletion (SQL). */
  tables?: string[];
}

export function CodeEditor({ value, onChange, language, label, dark, minHeight = 160, tables = [] }: CodeEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView>(undefined);
  const themeSlot = useRef(new Compartment());
  const langSlot = useRef(new Compartment());
  const changed = useRef(onChange);
  changed.current = onChange;

  const lang = (): Extension => (language === 'sql' ? sql({ dialect: PostgreSQL, upperCaseKeywords: true, schema: Object.fromEntries(tables.map((t) => [t, []])) }) : json());

  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          basicSetup,
          langSlot.current.of(lang()),
          themeSlot.current.of(dark ? oneDark : []),
          EditorView.contentAttributes.of({ 'aria-label': label }),
          EditorView.theme({ '&': { minHeight: `${minHeight}px` }, '.cm-scroller': { minHeight: `${minHeight}px` } }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) changed.current(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => v.destroy();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
  }, [value]);
  useEffect(() => {
    view.current?.dispatch({ effects: themeSlot.current.reconfigure(dark ? oneDark : []) });
  }, [dark]);
  useEffect(() => {
    view.current?.dispatch({ effects: langSlot.current.reconfigure(lang()) });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [tables.join(',')]);

  return <div ref={host} className="code-editor" data-language={language} />;
}

/** Inserts text at the cursor of the editor inside `container` (used for "insert store id"). */
export function insertAtCursor(container: HTMLElement | null, text: string): boolean {
  const el = container?.querySelector('.cm-editor');
  const v = el ? EditorView.findFromDOM(el as HTMLElement) : null;
  if (!v) return false;
  const { from, to } = v.state.selection.main;
  v.dispatch({ changes: { from, to, insert: text }, selection: { anchor: from + text.length } });
  v.focus();
  return true;
}
