import { parsePythonLiteral, PythonLiteralError } from './python-literal';

describe('parsePythonLiteral', () => {
  it('parses dicts, tuples, lists, strings, ints and names, with trailing commas and spaces', () => {
    expect(parsePythonLiteral(" { 'a' : (1, 2L, ), \"b\": [True, False, None], 'c': 'x\\'y', 'd': (), 'e': (-3,) } \n")).toEqual({
      a: [1, 2],
      b: [true, false, null],
      c: "x'y",
      d: [],
      e: [-3],
    });
  });

  it.each([
    ["{'a': 1", /expected ',' or '}'/],
    ["{'a': ", /ends early/],
    ["{'a' 1}", /expected ':'/],
    ["{1: 2}", /key is not a string/],
    ["'open", /unterminated string/],
    ['(1 2)', /expected ','/],
    ['{} x', /unexpected text after/],
    ['1.5', /floats are not supported/],
    ['eval', /unknown name eval/],
    ['constructor', /unknown name constructor/],
  ])('refuses %p', (text, message) => {
    expect(() => parsePythonLiteral(text)).toThrow(PythonLiteralError);
    expect(() => parsePythonLiteral(text)).toThrow(message);
  });
});
