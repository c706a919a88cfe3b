namespace SharpMM.Addressing;

/// <summary>
/// A physical address. x86-64 (and the library) accepts at most 52 address bits, the
/// architectural MAXPHYADDR limit; <see cref="New"/> refuses more. There is no implicit
/// conversion to or from <see cref="VirtAddr"/> or <see cref="Pfn"/>: crossing between them is
/// always a named call.
/// </summary>
public readonly struct PhysAddr
{
    /// <summary>Number of physical address bits the library accepts.</summary>
    public const int MaxBits = 52;
    /// <summary>One past the highest physical address the library accepts.</summary>
    public const ulong Limit = 1UL << MaxBits;

    /// <summary>The raw address.</summary>
    public readonly ulong Value;

    private PhysAddr(ulong value) { Value = value; }

    /// <summary>Validates: panics when <paramref name="value"/> has bits above <see cref="MaxBits"/>.
    /// For untrusted input use <see cref="TryNew"/>.</summary>
    public static PhysAddr New(ulong value)
    {
        if (value >= Limit) Panic.Fail("PhysAddr.New: address above 2^52", value);
        return new PhysAddr(value);
    }

    /// <summary>Returns <see cref="Status.OutOfRange"/> for an address above 2^52.</summary>
    public static Status TryNew(ulong value, out PhysAddr addr)
    {
        if (value >= Limit) { addr = default; return Status.OutOfRange; }
        addr = new PhysAddr(value);
        return Status.Ok;
    }

    /// <summary>No check: the caller knows the value is a valid physical address.</summary>
    public static PhysAddr NewUnchecked(ulong value) => new PhysAddr(value);

    /// <summary>True when the address lies on a 4 KiB boundary.</summary>
    public bool IsPageAligned => (Value & PageSize.OffsetMask) == 0;

    /// <summary>The frame containing this address.</summary>
    public Pfn ContainingFrame => Pfn.NewUnchecked(Value >> PageSize.Shift);

    /// <summary>Rounds down to <paramref name="alignment"/> (a power of two).</summary>
    public PhysAddr AlignDown(ulong alignment) => new PhysAddr(Value & ~(alignment - 1));

    /// <summary>Address plus a byte offset; the caller guarantees no overflow past 2^52.</summary>
    public PhysAddr AddUnchecked(ulong bytes) => new PhysAddr(Value + bytes);

    public static bool operator ==(PhysAddr a, PhysAddr b) => a.Value == b.Value;
    public static bool operator !=(PhysAddr a, PhysAddr b) => a.Value != b.Value;
    public static bool operator <(PhysAddr a, PhysAddr b) => a.Value < b.Value;
    public static bool operator >(PhysAddr a, PhysAddr b) => a.Value > b.Value;
    public static bool operator <=(PhysAddr a, PhysAddr b) => a.Value <= b.Value;
    public static bool operator >=(PhysAddr a, PhysAddr b) => a.Value >= b.Value;
    /// <inheritdoc/>
    public override bool Equals(object obj) => obj is PhysAddr p && p.Value == Value;
    /// <inheritdoc/>
    public override int GetHashCode() => (int)(Value ^ (Value >> 32));
}
