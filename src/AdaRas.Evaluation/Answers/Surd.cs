using System.Numerics;

namespace AdaRas.Evaluation.Answers;

/// <summary>Thrown when an exact computation would leave what <see cref="Surd"/> can represent or grows too large.</summary>
internal sealed class NotExactException(string why) : Exception(why);

/// <summary>
/// An exact number of the form <c>sum of q_k * sqrt(k)</c>: rationals q_k and distinct square-free integers k
/// (k = 1 for the rational part). Every element has one such form, so two values are equal exactly when their
/// terms are; products of square roots are re-simplified (<c>sqrt(6) sqrt(3) = 3 sqrt(2)</c>) and division
/// clears radicals from the denominator one prime at a time (the conjugate trick of multi-quadratic fields).
/// </summary>
internal sealed class Surd
{
    const long MaxBits = 4096;
    const int MaxTerms = 64;

    /// <summary>Square-free radicand to coefficient; no zero coefficients.</summary>
    readonly SortedDictionary<BigInteger, Rational> _terms;

    Surd(SortedDictionary<BigInteger, Rational> terms) => _terms = terms;

    public static Surd FromRational(Rational q)
    {
        var t = new SortedDictionary<BigInteger, Rational>();
        if (!q.IsZero) t[BigInteger.One] = q;
        return new Surd(t);
    }

    public bool IsZero => _terms.Count == 0;

    /// <summary>The value when it has no radical part.</summary>
    public Rational? AsRational => _terms.Count == 0 ? Rational.Zero
        : _terms.Count == 1 && _terms.ContainsKey(BigInteger.One) ? _terms[BigInteger.One] : null;

    static Surd Build(SortedDictionary<BigInteger, Rational> terms)
    {
        if (terms.Count > MaxTerms) throw new NotExactException("too many radicals");
        foreach (var q in terms.Values)
            if (q.Bits > MaxBits) throw new NotExactException("numbers too large");
        return new Surd(terms);
    }

    static void Accumulate(SortedDictionary<BigInteger, Rational> into, BigInteger radicand, Rational q)
    {
        var sum = into.TryGetValue(radicand, out var existing) ? existing + q : q;
        if (sum.IsZero) into.Remove(radicand);
        else into[radicand] = sum;
    }

    public static Surd operator +(Surd a, Surd b)
    {
        var t = new SortedDictionary<BigInteger, Rational>(a._terms);
        foreach (var (k, q) in b._terms) Accumulate(t, k, q);
        return Build(t);
    }

    public static Surd operator -(Surd a)
    {
        var t = new SortedDictionary<BigInteger, Rational>();
        foreach (var (k, q) in a._terms) t[k] = -q;
        return new Surd(t);
    }

    public static Surd operator -(Surd a, Surd b) => a + -b;

    public static Surd operator *(Surd a, Surd b)
    {
        var t = new SortedDictionary<BigInteger, Rational>();
        foreach (var (ka, qa) in a._terms)
            foreach (var (kb, qb) in b._terms)
            {
                // sqrt(ka) sqrt(kb) = g sqrt(ka kb / g^2) with g = gcd(ka, kb), both square-free.
                var g = BigInteger.GreatestCommonDivisor(ka, kb);
                Accumulate(t, ka / g * (kb / g), qa * qb * new Rational(g, 1));
            }
        return Build(t);
    }

    public static Surd operator /(Surd a, Surd b) => a * b.Inverse();

    public Surd Inverse()
    {
        if (IsZero) throw new DivideByZeroException();
        if (AsRational is { } q) return FromRational(Rational.One / q);
        // Pick a prime p of some radicand; negating the terms whose radicand p divides gives a conjugate x' with
        // x x' free of sqrt(p). 1/x = x' / (x x'), and x x' has fewer primes under its radicals.
        var radicand = _terms.Keys.First(k => !k.IsOne);
        var p = SmallestPrimeFactor(radicand);
        var conjugateTerms = new SortedDictionary<BigInteger, Rational>();
        foreach (var (k, c) in _terms) conjugateTerms[k] = (k % p).IsZero ? -c : c;
        var conjugate = new Surd(conjugateTerms);
        return conjugate * (this * conjugate).Inverse();
    }

    public Surd Power(int exponent)
    {
        if (Math.Abs(exponent) > 64) throw new NotExactException("exponent too large");
        var baseValue = exponent < 0 ? Inverse() : this;
        var result = FromRational(Rational.One);
        for (int e = Math.Abs(exponent); e > 0; e >>= 1)
        {
            if ((e & 1) == 1) result *= baseValue;
            if (e > 1) baseValue *= baseValue;
        }
        return result;
    }

    /// <summary>The square root of a non-negative rational value, simplified; anything else is not exact here.</summary>
    public Surd Sqrt()
    {
        var q = AsRational ?? throw new NotExactException("square root of a radical");
        if (q.Numerator.Sign < 0) throw new NotExactException("square root of a negative number");
        if (q.IsZero) return this;
        // sqrt(n/d) = sqrt(n d) / d
        var (outside, squareFree) = SplitSquare(q.Numerator * q.Denominator);
        var t = new SortedDictionary<BigInteger, Rational> { [squareFree] = new Rational(outside, q.Denominator) };
        return Build(t);
    }

    public bool EqualTo(Surd other) =>
        _terms.Count == other._terms.Count && _terms.All(kv => other._terms.TryGetValue(kv.Key, out var q) && q == kv.Value);

    public override string ToString() => IsZero ? "0" : string.Join(" + ", _terms.Select(kv => kv.Key.IsOne ? kv.Value.ToString() : $"{kv.Value}*sqrt({kv.Key})"));

    // ---------------------------------------------------------------- integer factoring (small numbers only)

    const int TrialLimit = 100_000;
    static readonly BigInteger SurelyPrimeBelow = (BigInteger)TrialLimit * TrialLimit;

    /// <summary>n = outside^2 * squareFree; trial division, refusing numbers it cannot split for certain.</summary>
    internal static (BigInteger Outside, BigInteger SquareFree) SplitSquare(BigInteger n)
    {
        if (n.Sign <= 0) throw new ArgumentOutOfRangeException(nameof(n));
        if (n.GetBitLength() > 512) throw new NotExactException("number too large to factor");
        BigInteger outside = 1, squareFree = 1;
        for (int p = 2; p <= TrialLimit && (BigInteger)p * p <= n; p += p == 2 ? 1 : 2)
        {
            int count = 0;
            while ((n % p).IsZero) { n /= p; count++; }
            if (count == 0) continue;
            outside *= BigInteger.Pow(p, count / 2);
            if (count % 2 == 1) squareFree *= p;
        }
        if (n > 1)
        {
            // What is left has no factor up to the trial limit: prime if below its square, a square if it is one.
            var root = IntegerSqrt(n);
            if (root * root == n) outside *= root;
            else if (n < SurelyPrimeBelow) squareFree *= n;
            else throw new NotExactException("number too large to factor");
        }
        return (outside, squareFree);
    }

    static BigInteger SmallestPrimeFactor(BigInteger n)
    {
        for (int p = 2; p <= TrialLimit && (BigInteger)p * p <= n; p += p == 2 ? 1 : 2)
            if ((n % p).IsZero) return p;
        return n; // square-free with no small factor: prime (SplitSquare only lets such numbers through)
    }

    static BigInteger IntegerSqrt(BigInteger n)
    {
        if (n < 2) return n;
        var x = (BigInteger)Math.Sqrt((double)n);
        while (x * x > n) x--;
        while ((x + 1) * (x + 1) <= n) x++;
        return x;
    }
}
