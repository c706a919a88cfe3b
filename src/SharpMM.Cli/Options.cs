using System;
using System.Collections.Generic;
using System.Globalization;

namespace SharpMM.Cli;

/// <summary>`--name value` and `--flag` options, checked against what a command accepts.</summary>
internal sealed class Options
{
    private readonly Dictionary<string, string?> _values = new();
    public List<string> Positional { get; } = new();

    public Options(string[] args, string[] valued, string[] flags)
    {
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal)) { Positional.Add(a); continue; }
            if (Array.IndexOf(flags, a) >= 0) { _values[a] = null; continue; }
            if (Array.IndexOf(valued, a) < 0) throw new UsageException($"unknown option '{a}'");
            if (i + 1 >= args.Length) throw new UsageException($"option '{a}' needs a value");
            _values[a] = args[++i];
        }
    }

    public bool Has(string name) => _values.ContainsKey(name);
    public string? Get(string name) => _values.TryGetValue(name, out var v) ? v : null;

    /// <summary>Parses "128M", "6G", "512MiB", "1.5G", "4096" (bytes) and the like.</summary>
    public static ulong ParseSize(string text)
    {
        string t = text.Trim();
        ulong mult = 1;
        string lower = t.ToLowerInvariant();
        foreach (var (suffix, m) in new (string, ulong)[] { ("kib", 1UL << 10), ("mib", 1UL << 20), ("gib", 1UL << 30), ("tib", 1UL << 40),
                                                            ("k", 1UL << 10), ("m", 1UL << 20), ("g", 1UL << 30), ("t", 1UL << 40) })
        {
            if (lower.EndsWith(suffix, StringComparison.Ordinal)) { mult = m; t = t[..^suffix.Length]; break; }
        }
        if (!decimal.TryParse(t, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal v) || v <= 0)
            throw new UsageException($"'{text}' is not a size (examples: 128M, 6G, 4096)");
        decimal bytes = v * mult;
        if (bytes > ulong.MaxValue) throw new UsageException($"size '{text}' is too large");
        return (ulong)bytes;
    }
}
