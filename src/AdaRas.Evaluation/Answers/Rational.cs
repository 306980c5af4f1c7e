using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;

namespace AdaRas.Evaluation.Answers;

/// <summary>
/// An exact fraction, so that <c>0.5</c>, <c>.50</c>, <c>\frac{1}{2}</c> and <c>1/2</c> compare equal without
/// floating-point tolerance (and <c>0.333</c> stays different from <c>\frac13</c>).
/// </summary>
internal readonly record struct Rational
{
    public BigInteger Numerator { get; }
    public BigInteger Denominator { get; }

    public Rational(BigInteger numerator, BigInteger denominator)
    {
        if (denominator.IsZero) throw new DivideByZeroException();
        if (denominator.Sign < 0) { numerator = -numerator; denominator = -denominator; }
        var g = BigInteger.GreatestCommonDivisor(numerator, denominator);
        if (!g.IsZero && !g.IsOne) { numerator /= g; denominator /= g; }
        Numerator = numerator;
        Denominator = denominator;
    }

    public static Rational operator +(Rational a, Rational b) =>
        new(a.Numerator * b.Denominator + b.Numerator * a.Denominator, a.Denominator * b.Denominator);

    public static Rational operator *(Rational a, Rational b) =>
        new(a.Numerator * b.Numerator, a.Denominator * b.Denominator);

    public static Rational operator -(Rational a) => new(-a.Numerator, a.Denominator);
    public static Rational operator -(Rational a, Rational b) => a + -b;
    public static Rational operator /(Rational a, Rational b) => a * new Rational(b.Denominator, b.Numerator);
    public bool IsZero => Numerator.IsZero;
    public bool IsInteger => Denominator.IsOne;
    public static readonly Rational Zero = new(0, 1);
    public static readonly Rational One = new(1, 1);

    /// <summary>Bits of numerator and denominator together: a bound on how large a computation has grown.</summary>
    public long Bits => (long)(Numerator.IsZero ? 0 : BigInteger.Abs(Numerator).GetBitLength()) + (long)Denominator.GetBitLength();

    public override string ToString() => Denominator.IsOne ? Numerator.ToString() : $"{Numerator}/{Denominator}";

    static readonly Regex Decimal = new(@"^[+-]?(\d+\.?\d*|\.\d+)$", RegexOptions.CultureInvariant);

    /// <summary>A plain decimal: <c>12</c>, <c>-0.50</c>, <c>.5</c>, <c>216.0</c>, <c>023</c>.</summary>
    public static bool TryParseDecimal(string s, out Rational value)
    {
        value = default;
        if (s.Length == 0 || s.Length > 400 || !Decimal.IsMatch(s)) return false;
        bool negative = s[0] == '-';
        s = s.TrimStart('+', '-');
        int dot = s.IndexOf('.');
        string digits = dot < 0 ? s : s.Remove(dot, 1);
        int scale = dot < 0 ? 0 : s.Length - dot - 1;
        if (digits.Length == 0) return false;
        var n = BigInteger.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        value = new Rational(negative ? -n : n, BigInteger.Pow(10, scale));
        return true;
    }

    /// <summary>Exact 10^k (k may be negative).</summary>
    public static Rational PowerOfTen(int k) =>
        k >= 0 ? new Rational(BigInteger.Pow(10, k), 1) : new Rational(1, BigInteger.Pow(10, -k));
}
