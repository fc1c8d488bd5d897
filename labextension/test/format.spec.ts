import { formatDuration, formatScore, sparklinePoints } from '../src/format';

describe("the sidebar's formatters", () => {
  test.each([
    [0, '0:00'],
    [4.4, '0:04'],
    [59.6, '1:00'],
    [61, '1:01'],
    [3599, '59:59'],
    [3600, '1:00:00'],
    [3661, '1:01:01'],
    [36000 + 62, '10:01:02'],
    [-3, '0:00']
  ])('a duration of %s s reads %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  test.each([
    [null, '–'],
    [0.912345, '0.9123'],
    [0.5, '0.5'],
    [-1.23456, '-1.235'],
    [123456.7, '123500'],
    [0.000123456, '0.0001235'],
    [1.23456e-7, '1.235e-7'],
    [0, '0']
  ])('a score of %s reads %s', (value, text) => {
    expect(formatScore(value)).toBe(text);
  });

  test('a sparkline needs two values', () => {
    expect(sparklinePoints([], 80, 18)).toBe('');
    expect(sparklinePoints([0.9], 80, 18)).toBe('');
  });

  test('a sparkline spans the width, its lowest value at the bottom and its highest at the top', () => {
    expect(sparklinePoints([0.5, 0.8, 0.8, 0.9], 80, 18)).toBe('0.0,17.0 26.7,5.0 53.3,5.0 80.0,1.0');
    expect(sparklinePoints([3, 2, 1], 80, 18)).toBe('0.0,1.0 40.0,9.0 80.0,17.0'); // a minimised score falls
  });

  test('a flat sparkline lies at the bottom', () => {
    expect(sparklinePoints([2, 2, 2], 80, 18)).toBe('0.0,17.0 40.0,17.0 80.0,17.0');
  });
});
