using System.Numerics;
using System.Text.RegularExpressions;

namespace AdaRas.Evaluation.Answers;

/// <summary>
/// The last resort of <see cref="MathEquivalence"/>: answers equal only after algebra (<c>\sqrt{117}</c> and
/// <c>3\sqrt{13}</c>, <c>3^{4}</c> and <c>81</c>, <c>3-13x</c> and <c>-13x+3</c>, <c>0.\overline{3}</c> and
/// <c>1/3</c>). Both normalised answers are parsed into expressions (numbers, letters as variables, <c>\pi</c> as a
/// variable too since it is transcendental, + - * /, implicit products, <c>\frac</c>, <c>\sqrt</c>, integer and
/// half-integer powers) and evaluated in exact arithmetic (<see cref="Surd"/>): once without variables, or at
/// several random rational points with them, where every point must agree exactly.
/// Guarded: the verdict is "equal" only when both sides parse completely; anything unsupported, ambiguous or
/// too large (words, functions, <c>\pm</c>, <c>x2</c>, <c>1/2x</c>, huge powers) gives "not shown equal".
/// </summary>
internal static class SymbolicEquivalence
{
    const int Points = 6;
    const int MaxAttempts = 24;
    const int MaxNodes = 400;
    const int MaxVariables = 6;
    const int MaxRoots = 12;
    /// <summary>A verdict that takes longer is "not shown equal": a hostile answer cannot stall scoring.</summary>
    static readonly TimeSpan Budget = TimeSpan.FromMilliseconds(250);

    public static bool AreEqual(string a, string b)
    {
        var x = Parser.TryParse(a);
        var y = Parser.TryParse(b);
        if (x is null || y is null) return false;
        var variables = x.Variables.Union(y.Variables).Order(StringComparer.Ordinal).ToList();
        if (variables.Count > MaxVariables) return false;
        if (variables.Count == 0)
        {
            var none = new Dictionary<string, Rational>();
            return TryEvaluate(x.Root, none, out var u) && TryEvaluate(y.Root, none, out var v) && u!.EqualTo(v!);
        }

        // Fixed seed: a verdict never changes between runs.
        var random = new Random(20260121);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int agreed = 0;
        for (int attempt = 0; attempt < MaxAttempts && agreed < Points; attempt++)
        {
            if (clock.Elapsed > Budget) return false;
            var point = variables.ToDictionary(n => n, _ => RandomRational(random), StringComparer.Ordinal);
            bool okX = TryEvaluate(x.Root, point, out var u), okY = TryEvaluate(y.Root, point, out var v);
            if (!okX || !okY) continue; // e.g. a division by zero (x = 1 in (x^2-1)/(x-1)): try another point
            if (!u!.EqualTo(v!)) return false;
            agreed++;
        }
        return agreed == Points;
    }

    static Rational RandomRational(Random random)
    {
        int n = random.Next(1, 60) * (random.Next(2) == 0 ? -1 : 1);
        int d = random.Next(1, 14);
        return new Rational(n, d);
    }

    static bool TryEvaluate(Node node, IReadOnlyDictionary<string, Rational> point, out Surd? value)
    {
        try { value = Evaluate(node, point); return true; }
        catch (Exception e) when (e is NotExactException or DivideByZeroException) { value = null; return false; }
    }

    static Surd Evaluate(Node node, IReadOnlyDictionary<string, Rational> point) => node switch
    {
        Number n => Surd.FromRational(n.Value),
        Variable v => Surd.FromRational(point[v.Name]),
        Negate n => -Evaluate(n.Operand, point),
        Binary { Op: '+' } b => Evaluate(b.Left, point) + Evaluate(b.Right, point),
        Binary { Op: '-' } b => Evaluate(b.Left, point) - Evaluate(b.Right, point),
        Binary { Op: '*' } b => Evaluate(b.Left, point) * Evaluate(b.Right, point),
        Binary { Op: '/' } b => Evaluate(b.Left, point) / Evaluate(b.Right, point),
        Binary { Op: '^' } b => Power(Evaluate(b.Left, point), Evaluate(b.Right, point)),
        SquareRoot r => Evaluate(r.Operand, point).Sqrt(),
        _ => throw new NotExactException("unknown node"),
    };

    /// <summary>Integer exponents exactly; half-integers through the square root; anything else is not exact here.</summary>
    static Surd Power(Surd baseValue, Surd exponent)
    {
        var e = exponent.AsRational ?? throw new NotExactException("irrational exponent");
        if (BigInteger.Abs(e.Numerator) > 128) throw new NotExactException("exponent too large");
        if (e.IsInteger) return baseValue.Power((int)e.Numerator);
        if (e.Denominator == 2) return baseValue.Sqrt().Power((int)e.Numerator);
        throw new NotExactException("fractional exponent");
    }

    // ---------------------------------------------------------------- expressions

    abstract record Node;
    sealed record Number(Rational Value) : Node;
    sealed record Variable(string Name) : Node;
    sealed record Negate(Node Operand) : Node;
    sealed record Binary(char Op, Node Left, Node Right) : Node;
    sealed record SquareRoot(Node Operand) : Node;

    sealed record Parsed(Node Root, IReadOnlySet<string> Variables);

    /// <summary>
    /// Recursive descent over a normalised answer (no spaces). Precedence: + - below * / and implicit products,
    /// below unary minus, below ^. A failed parse is null, never a partial expression.
    /// </summary>
    sealed class Parser
    {
        readonly string _s;
        int _i, _nodes, _roots;
        readonly HashSet<string> _variables = new(StringComparer.Ordinal);

        Parser(string s) => _s = s;

        sealed class Fail : Exception;

        public static Parsed? TryParse(string s)
        {
            if (s.Length == 0 || s.Length > 300) return null;
            var p = new Parser(s);
            try
            {
                var root = p.Sum(0);
                if (p._i != s.Length) return null;
                return new Parsed(root, p._variables);
            }
            catch (Fail) { return null; }
        }

        T Count<T>(T node) where T : Node
        {
            if (++_nodes > MaxNodes) throw new Fail();
            return node;
        }

        bool AtEnd => _i >= _s.Length;
        char Peek => _i < _s.Length ? _s[_i] : '\0';

        bool Take(string token)
        {
            // Normalised answers have lost their spaces, so "\pi r" arrives as "\pir": a command may run on into
            // letters (none of the few commands read here is a prefix of another).
            if (string.CompareOrdinal(_s, _i, token, 0, token.Length) != 0) return false;
            _i += token.Length;
            return true;
        }

        void Expect(string token) { if (!Take(token)) throw new Fail(); }

        Node Sum(int depth)
        {
            if (depth > 40) throw new Fail();
            var left = Product(depth);
            while (true)
            {
                if (Take("+")) left = Count(new Binary('+', left, Product(depth)));
                else if (Take("-")) left = Count(new Binary('-', left, Product(depth)));
                else return left;
            }
        }

        Node Product(int depth)
        {
            var left = Unary(depth);
            while (true)
            {
                if (Take("\\cdot") || Take("\\times") || Take("*")) left = Count(new Binary('*', left, Unary(depth)));
                else if (Take("\\div") || Take("/"))
                {
                    // "1/2x": is it 1/(2x) or x/2? Refuse rather than guess.
                    var right = Unary(depth);
                    if (StartsFactor()) throw new Fail();
                    left = Count(new Binary('/', left, right));
                }
                else if (StartsFactor()) left = Count(new Binary('*', left, Power(depth)));
                else return left;
            }
        }

        /// <summary>What may follow a factor as an implicit product: a letter, a bracket or a command; never a digit ("x2", "(2)3").</summary>
        bool StartsFactor() => !AtEnd && (char.IsAsciiLetter(Peek) || Peek == '(' || Peek == '{'
            || Ahead("\\sqrt") || Ahead("\\frac") || Ahead("\\pi"));

        /// <summary>Whether <paramref name="token"/> comes next, without consuming it.</summary>
        bool Ahead(string token)
        {
            int at = _i;
            bool ok = Take(token);
            _i = at;
            return ok;
        }

        Node Unary(int depth)
        {
            if (Take("-")) return Count(new Negate(Unary(depth)));
            if (Take("+")) return Unary(depth);
            return Power(depth);
        }

        Node Power(int depth)
        {
            var baseNode = Primary(depth);
            if (!Take("^")) return baseNode;
            Node exponent;
            if (Peek == '{') exponent = Group(depth);
            else if (char.IsAsciiDigit(Peek)) { exponent = Count(new Number(new Rational(Peek - '0', 1))); _i++; }
            else if (char.IsAsciiLetter(Peek)) exponent = Letter();
            else throw new Fail();
            if (Peek == '^') throw new Fail(); // a^b^c: ambiguous
            return Count(new Binary('^', baseNode, exponent));
        }

        Node Group(int depth)
        {
            Expect("{");
            var inner = Sum(depth + 1);
            Expect("}");
            return inner;
        }

        Node Primary(int depth)
        {
            if (AtEnd) throw new Fail();
            char c = Peek;
            if (c == '(') { _i++; var inner = Sum(depth + 1); Expect(")"); return inner; }
            if (c == '{') return Group(depth);
            if (char.IsAsciiDigit(c) || c == '.') return NumberLiteral();
            if (char.IsAsciiLetter(c)) return Letter();
            if (Take("\\frac"))
            {
                var n = Group(depth);
                var d = Group(depth);
                return Count(new Binary('/', n, d));
            }
            if (Take("\\sqrt"))
            {
                if (Take("[")) { if (!Take("2]")) throw new Fail(); } // only square roots are exact here
                if (++_roots > MaxRoots) throw new Fail();
                return Count(new SquareRoot(Group(depth)));
            }
            if (Take("\\pi")) { _variables.Add("\\pi"); return Count(new Variable("\\pi")); }
            throw new Fail();
        }

        /// <summary>One letter is one variable (with an optional subscript: x_1, a_{n}). Three or more letters in a row are a word, not algebra.</summary>
        Node Letter()
        {
            int run = _i;
            while (run < _s.Length && char.IsAsciiLetter(_s[run])) run++;
            if (run - _i >= 3) throw new Fail();
            var name = _s[_i].ToString();
            _i++;
            if (Take("_"))
            {
                int start = _i;
                if (Peek == '{')
                {
                    int close = _s.IndexOf('}', _i);
                    if (close < 0) throw new Fail();
                    _i = close + 1;
                }
                else if (!AtEnd && char.IsAsciiLetterOrDigit(Peek)) _i++;
                else throw new Fail();
                var subscript = _s[start.._i].Trim('{', '}');
                if (subscript.Length == 0 || !subscript.All(char.IsAsciiLetterOrDigit)) throw new Fail();
                name += "_" + subscript;
            }
            _variables.Add(name);
            return Count(new Variable(name));
        }

        static readonly Regex NumberPattern = new(@"\G(\d+(\.\d*)?|\.\d+)(\\overline\{(?<rep>\d{1,12})\})?", RegexOptions.CultureInvariant);

        /// <summary>A decimal, possibly repeating: <c>0.\overline{3}</c> = 1/3, <c>0.1\overline{6}</c> = 1/6.</summary>
        Node NumberLiteral()
        {
            var m = NumberPattern.Match(_s, _i);
            if (!m.Success) throw new Fail();
            var text = m.Groups[1].Value;
            if (text.Length > 60 || !Rational.TryParseDecimal(text, out var value)) throw new Fail();
            if (m.Groups["rep"].Success)
            {
                if (!text.Contains('.')) throw new Fail(); // 3\overline{3}: not a decimal
                int scale = text.Length - text.IndexOf('.') - 1;
                var rep = m.Groups["rep"].Value;
                // The repeating block adds rep / (10^len - 1) / 10^scale.
                var block = new Rational(BigInteger.Parse(rep), BigInteger.Pow(10, rep.Length) - 1);
                value += block * Rational.PowerOfTen(-scale);
            }
            _i += m.Length;
            return Count(new Number(value));
        }
    }
}
