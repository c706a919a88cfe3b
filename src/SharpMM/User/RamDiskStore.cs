using SharpMM.Diagnostics;
using SharpMM.Addressing;

namespace SharpMM.User;

/// <summary>
/// A backing store in memory the caller provides (a RAM disk: in the kernel, frames set aside
/// at boot and reached through the direct map; hosted, a buffer that outlives the machine, so a
/// "restart" can reopen it). Durable as long as its memory is: <see cref="Flush"/> does nothing.
/// </summary>
public readonly unsafe struct RamDiskStore : IBackingStore
{
    private readonly byte* _base;
    private readonly ulong _slots;

    /// <summary>A store of <paramref name="slotCount"/> slots at <paramref name="memory"/>
    /// (slotCount * 4 KiB bytes).</summary>
    public RamDiskStore(byte* memory, ulong slotCount) { _base = memory; _slots = slotCount; }

    /// <inheritdoc/>
    public ulong SlotCount => _slots;

    /// <summary>The memory of slot <paramref name="slot"/> (for tests and crash injection).</summary>
    public byte* SlotPointer(ulong slot) => _base + (slot << PageSize.Shift);

    /// <inheritdoc/>
    public Status Read(ulong slot, byte* page)
    {
        if (slot >= _slots) return Status.OutOfRange;
        MemoryOps.Copy(page, _base + (slot << PageSize.Shift), PageSize.Bytes);
        return Status.Ok;
    }

    /// <inheritdoc/>
    public Status Write(ulong slot, byte* page)
    {
        if (slot >= _slots) return Status.OutOfRange;
        MemoryOps.Copy(_base + (slot << PageSize.Shift), page, PageSize.Bytes);
        return Status.Ok;
    }

    /// <inheritdoc/>
    public Status Flush() => Status.Ok;
}
