export const LANGUAGE_CODE = 1033;

export interface LocalizedLabelWire {
  '@odata.type'?: string;
  Label: string;
  LanguageCode: number;
  IsManaged: boolean;
  MetadataId: null;
  HasChanged: null;
}

export interface LabelWire {
  LocalizedLabels: LocalizedLabelWire[];
  UserLocalizedLabel: LocalizedLabelWire | null;
}

export function label(text: string): LabelWire {
  if (text === '') return { LocalizedLabels: [], UserLocalizedLabel: null };
  const localized: LocalizedLabelWire = { Label: text, LanguageCode: LANGUAGE_CODE, IsManaged: false, MetadataId: null, HasChanged: null };
  return { LocalizedLabels: [localized], UserLocalizedLabel: localized };
}

/** The text of a Label a client sent: the 1033 label if present, else the first one, else the user-localized one. */
export function labelText(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { LocalizedLabels: localized, UserLocalizedLabel: user } = value as { LocalizedLabels?: unknown; UserLocalizedLabel?: unknown };
  const candidates = Array.isArray(localized) ? localized : [];
  const texts = candidates.filter((item): item is { Label: string; LanguageCode?: number } => typeof (item as { Label?: unknown })?.Label === 'string');
  const chosen = texts.find((item) => item.LanguageCode === LANGUAGE_CODE) ?? texts[0];
  if (chosen) return chosen.Label;
  const userLabel = (user as { Label?: unknown } | undefined)?.Label;
  return typeof userLabel === 'string' ? userLabel : undefined;
}
