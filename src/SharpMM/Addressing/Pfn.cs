namespace SharpMM.Addressing;

/// <summary>
/// A physical frame number: the physical address shifted right by 12. Frames the page allocators
/// manage fit in 32 bits (<see cref="ManagedLimit"/>, 16 TiB of physical address space), which is
/// what lets a frame descriptor link to another in 4 bytes.
/// </summary>
public readonly struct Pfn
{
    /// <summary>One past the highest frame number the page allocators manage (2^32: 16 TiB).</summary>
    public const ulong ManagedLimit = 1UL << 32;

    /// <summary>The raw frame number.</summary>
    public readonly ulong Value;

    private Pfn(ulong value) { Value = value; }

    /// <summary>Validates: panics when the frame lies above the 52-bit physical limit.</summary>
    public static Pfn New(ulong value)
    {
        if (value >= (PhysAddr.Limit >> PageSize.Shift)) Panic.Fail("Pfn.New: frame above 2^52", value);
        return new Pfn(value);
    }

    /// <summary>No check.</summary>
    public static Pfn NewUnchecked(ulong value) => new Pfn(value);

    /// <summary>The frame of a page-aligned address; <see cref="Status.Misaligned"/> otherwise.</summary>
    public static Status TryFromAddr(PhysAddr addr, out Pfn pfn)
    {
        if (!addr.IsPageAligned) { pfn = default; return Status.Misaligned; }
        pfn = new Pfn(addr.Value >> PageSize.Shift);
        return Status.Ok;
    }

    /// <summary>The address of the first byte of the frame.</summary>
    public PhysAddr ToAddr() => PhysAddr.NewUnchecked(Value << PageSize.Shift);

    /// <summary>The frame <paramref name="count"/> frames further.</summary>
    public Pfn Add(ulong count) => new Pfn(Value + count);

    public static bool operator ==(Pfn a, Pfn b) => a.Value == b.Value;
    public static bool operator !=(Pfn a, Pfn b) => a.Value != b.Value;
    public static bool operator <(Pfn a, Pfn b) => a.Value < b.Value;
    public static bool operator >(Pfn a, Pfn b) => a.Value > b.Value;
    public static bool operator <=(Pfn a, Pfn b) => a.Value <= b.Value;
    public static bool operator >=(Pfn a, Pfn b) => a.Value >= b.Value;
    /// <inheritdoc/>
    public override bool Equals(object obj) => obj is Pfn p && p.Value == Value;
    /// <inheritdoc/>
    public override int GetHashCode() => (int)(Value ^ (Value >> 32));
}
