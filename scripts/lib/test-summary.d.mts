export interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  testResults: { status: string; assertionResults: { status: string }[] }[];
}
export function summarize(reports: (VitestReport | null)[]): { passed: number; failed: number };
