using System;
using System.Globalization;

namespace SharpMM.Cli;

/// <summary>
/// The one place where the command line's numbers, sizes and addresses are read. Each Try method
/// returns false with a message that names the text and says what was expected; the options
/// (<see cref="CliOptions"/>) turn that message into a parse error (exit status 2).
/// </summary>
internal static class CliValues
{
    /// <summary>A byte count: "4096", "128M", "6G", "512MiB", "1.5G" (K, M, G, T are powers of
    /// 1024). At least <paramref name="min"/>, at most <paramref name="max"/>.</summary>
    public static bool TryParseSize(string text, ulong min, ulong max, out ulong bytes, out string error)
    {
        bytes = 0;
        string t = text.Trim();
        ulong unit = 1;
        string lower = t.ToLowerInvariant();
        foreach (var (suffix, u) in Units)
        {
            if (lower.EndsWith(suffix, StringComparison.Ordinal)) { unit = u; t = t[..^suffix.Length]; break; }
        }
        if (t.Length == 0 || !decimal.TryParse(t, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal v))
        {
            error = $"'{text}' is not a size (examples: 4096, 512K, 128M, 6G)";
            return false;
        }
        if (v > (decimal)max / unit)
        {
            error = $"'{text}' is out of range: give {FormatSize(min)} to {FormatSize(max)}";
            return false;
        }
        decimal exact = v * unit;
        if (exact != decimal.Floor(exact))
        {
            error = $"'{text}' is not a whole number of bytes";
            return false;
        }
        if (exact < min || exact > max)
        {
            error = $"'{text}' is out of range: give {FormatSize(min)} to {FormatSize(max)}";
            return false;
        }
        bytes = (ulong)exact;
        error = "";
        return true;
    }

    /// <summary>A whole number in [<paramref name="min"/>, <paramref name="max"/>] (decimal digits only).</summary>
    public static bool TryParseInteger(string text, ulong min, ulong max, out ulong value, out string error)
    {
        value = 0;
        string t = text.Trim();
        bool digits = t.Length > 0;
        foreach (char c in t) digits &= c is >= '0' and <= '9';
        if (!digits)
        {
            error = t.StartsWith('-') && t.Length > 1 ? $"'{text}' is negative: give {min} to {max}" : $"'{text}' is not a whole number";
            return false;
        }
        if (!ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out value) || value < min || value > max)
        {
            value = 0;
            error = $"'{text}' is out of range: give {min} to {max}";
            return false;
        }
        error = "";
        return true;
    }

    /// <summary>A finite decimal number in [<paramref name="min"/>, <paramref name="max"/>]
    /// ("0.5", "2", "1e-3"); NaN, infinities and out-of-range values are refused.</summary>
    public static bool TryParseReal(string text, double min, double max, out double value, out string error)
    {
        if (!double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out value) || !double.IsFinite(value))
        {
            error = $"'{text}' is not a finite number";
            value = 0;
            return false;
        }
        if (value < min || value > max)
        {
            error = $"'{text}' is out of range: give {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}";
            value = 0;
            return false;
        }
        error = "";
        return true;
    }

    /// <summary>A virtual address in hexadecimal, with or without "0x" ("0xffffffff80100000",
    /// "c0100000"); at most 64 bits.</summary>
    public static bool TryParseAddress(string text, out ulong value, out string error)
    {
        string t = text.Trim();
        string digits = t.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? t[2..] : t;
        string significant = digits.TrimStart('0');
        value = 0;
        if (digits.Length == 0 || significant.Length > 16
            || (significant.Length > 0 && !ulong.TryParse(significant, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)))
        {
            error = $"'{text}' is not a 64-bit hexadecimal address (example: 0xffffffff80100000)";
            return false;
        }
        error = "";
        return true;
    }

    /// <summary>"4 MiB", "16 GiB", "512 bytes": the largest binary unit that divides the size.</summary>
    public static string FormatSize(ulong bytes)
    {
        foreach (var (name, shift) in new[] { ("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10) })
            if (bytes != 0 && bytes % (1UL << shift) == 0) return $"{bytes >> shift} {name}";
        return $"{bytes} bytes";
    }

    private static readonly (string Suffix, ulong Unit)[] Units =
    {
        ("kib", 1UL << 10), ("mib", 1UL << 20), ("gib", 1UL << 30), ("tib", 1UL << 40),
        ("k", 1UL << 10), ("m", 1UL << 20), ("g", 1UL << 30), ("t", 1UL << 40), ("b", 1),
    };
}
