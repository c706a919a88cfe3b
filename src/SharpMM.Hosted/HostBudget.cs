using System;
using SharpMM.Boot;

namespace SharpMM.Hosted;

/// <summary>
/// What one simulated machine may cost the host, checked before anything is allocated.
///
/// A machine's RAM is host address space reserved with MAP_NORESERVE and committed only when
/// touched, so what the host pays at boot is the frame metadata the boot writes into that RAM:
/// about 9 bytes per 4 KiB frame spanned by RAM plus 8 KiB per 256 MiB section holding RAM
/// (<see cref="PhysicalMemory.MetadataBytesFor"/>), about 2.3 GiB per TiB of RAM claimed. The
/// limit is <see cref="DefaultLimitBytes"/> (1 GiB: machines up to about 440 GiB of RAM, which
/// boot in a few seconds), raised or lowered with the environment variable
/// <see cref="LimitVariable"/> (a size such as 4G).
/// </summary>
public static class HostBudget
{
    /// <summary>The environment variable that sets the limit.</summary>
    public const string LimitVariable = "SHARPMM_MAX_HOST_MEMORY";
    /// <summary>The limit when the variable is not set.</summary>
    public const ulong DefaultLimitBytes = 1UL << 30;

    /// <summary>The bytes a boot over <paramref name="sanitized"/> commits on the host.</summary>
    public static ulong CostOf(in MemoryMap sanitized) => PhysicalMemory.MetadataBytesFor(in sanitized);

    /// <summary>The limit in force: the variable's value, or the default. Return: false with a
    /// message when the variable is set but is not a size.</summary>
    public static bool TryGetLimit(out ulong bytes, out string? error) =>
        TryParseLimit(Environment.GetEnvironmentVariable(LimitVariable), out bytes, out error);

    /// <summary>The limit a value of the variable sets: the default for null or blank.
    /// Return: false with a message naming the variable when it is not a size.</summary>
    public static bool TryParseLimit(string? text, out ulong bytes, out string? error)
    {
        error = null;
        bytes = DefaultLimitBytes;
        if (string.IsNullOrWhiteSpace(text)) return true;
        if (TryParseSize(text.Trim(), out bytes)) return true;
        error = $"{LimitVariable}='{text}' is not a size (examples: 512M, 4G, 2T)";
        return false;
    }

    /// <summary>
    /// Return: Ok when the machine fits; OutOfMemory with <paramref name="refusal"/> naming the
    /// amount asked for, the limit and how to raise it; InvalidArgument when the limit variable
    /// is malformed (the refusal says so).
    /// </summary>
    public static Status Check(in MemoryMap sanitized, out string? refusal)
    {
        if (!TryGetLimit(out ulong limit, out refusal)) return Status.InvalidArgument;
        return Check(in sanitized, limit, out refusal);
    }

    /// <summary>The same against <paramref name="limit"/> bytes: Ok, or OutOfMemory with the
    /// refusal.</summary>
    public static Status Check(in MemoryMap sanitized, ulong limit, out string? refusal)
    {
        refusal = null;
        ulong cost = CostOf(in sanitized);
        if (cost <= limit) return Status.Ok;
        ulong ram = 0;
        for (int i = 0; i < sanitized.Count; i++)
            if (sanitized[i].Type == MemoryType.Usable) ram += sanitized[i].Size;
        refusal = $"the simulated machine would cost the host {Size(cost)} ({cost} bytes) of frame metadata for {Size(ram)} of RAM, " +
                  $"above the limit of {Size(limit)} ({limit} bytes); raise it with {LimitVariable}={Suggest(cost)}";
        return Status.OutOfMemory;
    }

    // The smallest whole number of GiB (or MiB below 1 GiB) that covers the cost.
    private static string Suggest(ulong bytes) =>
        bytes >= 1UL << 30 ? $"{(bytes + (1UL << 30) - 1) >> 30}G" : $"{(bytes + (1UL << 20) - 1) >> 20}M";

    private static string Size(ulong bytes)
    {
        var w = StringSink.NewWriter();
        w.Size(bytes);
        return w.Sink.Text.ToString();
    }

    // A decimal count with an optional K/M/G/T suffix (binary units, "iB"/"B" accepted).
    private static bool TryParseSize(string text, out ulong bytes)
    {
        bytes = 0;
        string t = text.ToUpperInvariant();
        if (t.EndsWith("IB", StringComparison.Ordinal)) t = t[..^2];
        else if (t.EndsWith('B')) t = t[..^1];
        int shift = 0;
        if (t.Length > 0 && "KMGT".IndexOf(t[^1]) is int k and >= 0) { shift = 10 * (k + 1); t = t[..^1]; }
        if (!ulong.TryParse(t, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out ulong n)) return false;
        if (n == 0 || (shift != 0 && n > (ulong.MaxValue >> shift))) return false;
        bytes = n << shift;
        return true;
    }
}
