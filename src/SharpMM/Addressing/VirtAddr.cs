namespace SharpMM.Addressing;

/// <summary>
/// A virtual address. x86-64 4-level paging requires canonical addresses: bits 63..47 all equal
/// (sign extension of bit 47). <see cref="New"/> refuses a non-canonical value;
/// <see cref="NewTruncate"/> sign-extends bit 47 as the hardware does after a table walk.
/// </summary>
public readonly struct VirtAddr
{
    /// <summary>The raw address.</summary>
    public readonly ulong Value;

    private VirtAddr(ulong value) { Value = value; }

    /// <summary>True when bits 63..47 of <paramref name="value"/> are all equal.</summary>
    public static bool IsCanonical(ulong value)
    {
        ulong top = value >> 47;
        return top == 0 || top == 0x1FFFF;
    }

    /// <summary>Validates: panics on a non-canonical value. For untrusted input use <see cref="TryNew"/>.</summary>
    public static VirtAddr New(ulong value)
    {
        if (!IsCanonical(value)) Panic.Fail("VirtAddr.New: non-canonical address", value);
        return new VirtAddr(value);
    }

    /// <summary>Returns <see cref="Status.InvalidArgument"/> for a non-canonical value.</summary>
    public static Status TryNew(ulong value, out VirtAddr addr)
    {
        if (!IsCanonical(value)) { addr = default; return Status.InvalidArgument; }
        addr = new VirtAddr(value);
        return Status.Ok;
    }

    /// <summary>Sign-extends bit 47, discarding bits 63..48.</summary>
    public static VirtAddr NewTruncate(ulong value) => new VirtAddr((ulong)(((long)value << 16) >> 16));

    /// <summary>No check: the caller knows the value is canonical (or works in a 32-bit space).</summary>
    public static VirtAddr NewUnchecked(ulong value) => new VirtAddr(value);

    /// <summary>True when the address lies on a 4 KiB boundary.</summary>
    public bool IsPageAligned => (Value & PageSize.OffsetMask) == 0;

    /// <summary>The offset within the 4 KiB page.</summary>
    public ulong PageOffset => Value & PageSize.OffsetMask;

    /// <summary>Rounds down to <paramref name="alignment"/> (a power of two).</summary>
    public VirtAddr AlignDown(ulong alignment) => new VirtAddr(Value & ~(alignment - 1));

    /// <summary>The address as a host/kernel pointer.</summary>
    public unsafe void* AsPointer() => (void*)Value;

    public static bool operator ==(VirtAddr a, VirtAddr b) => a.Value == b.Value;
    public static bool operator !=(VirtAddr a, VirtAddr b) => a.Value != b.Value;
    public static bool operator <(VirtAddr a, VirtAddr b) => a.Value < b.Value;
    public static bool operator >(VirtAddr a, VirtAddr b) => a.Value > b.Value;
    /// <inheritdoc/>
    public override bool Equals(object obj) => obj is VirtAddr v && v.Value == Value;
    /// <inheritdoc/>
    public override int GetHashCode() => (int)(Value ^ (Value >> 32));
}
