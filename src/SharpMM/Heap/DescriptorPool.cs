using SharpMM.Addressing;
using SharpMM.Diagnostics;

namespace SharpMM.Heap;

/// <summary>
/// Storage for <see cref="SlabDescriptor"/>s: fixed-size slots of 64 to 640 bytes (multiples
/// of 64) carved from single buddy pages. Each pool page starts with a 64-byte header (free-slot list,
/// count, list links) followed by its slots; slots are 64-byte aligned, so a descriptor address
/// has its low 6 bits clear (owner words use them for the kind) and its page is found by masking
/// (the direct map is page aligned). Pages with a free slot are on their size's partial list; a
/// page whose last slot is freed goes back to the buddy allocator at once.
///
/// <code>
///   page: [header 64 B][slot][slot]...   slots per page: 63 (64 B), 31 (128 B), 21 (192 B), 15 (256 B) ... 6 (640 B)
/// </code>
///
/// Not locked itself: the heap calls it under its page lock (<see cref="HeapPages"/>).
/// Not done: per-CPU caching of descriptors (they change only when slabs are created or
/// released, on slow paths).
/// </summary>
public unsafe struct DescriptorPool
{
    /// <summary>Largest slot.</summary>
    public const uint MaxSlotBytes = 640;
    private const int Sizes = (int)(MaxSlotBytes / 64);
    private const uint HeaderBytes = 64;
    private const uint PageMagic = 0x504F4F4C; // "POOL"

    private struct PoolPage
    {
        public PoolPage* Next;
        public PoolPage* Prev;
        public byte* FreeSlots;
        public uint Used;
        public uint Capacity;
        public uint SlotBytes;
        public uint Magic;
    }

    private fixed ulong _partial[Sizes];
    private ulong _pages;
    private ulong _slotsUsed;

    /// <summary>Pool pages held.</summary>
    public readonly ulong Pages => _pages;
    /// <summary>Descriptors allocated.</summary>
    public readonly ulong SlotsUsed => _slotsUsed;

    /// <summary>A zeroed slot of at least <paramref name="bytes"/> (a multiple of 64, at most <see cref="MaxSlotBytes"/>).
    /// Return: Ok; InvalidArgument for another size; OutOfMemory (nothing changed).</summary>
    public Status Allocate(HeapPageSource src, uint bytes, out SlabDescriptor* descriptor)
    {
        descriptor = null;
        if (bytes == 0 || bytes > MaxSlotBytes || (bytes & 63) != 0) return Status.InvalidArgument;
        int k = (int)(bytes / 64) - 1;
        PoolPage* page = (PoolPage*)_partial[k];
        if (page == null)
        {
            Status s = src.Allocate(0, out _, out byte* raw);
            if (s != Status.Ok) return s;
            page = (PoolPage*)raw;
            page->Next = null; page->Prev = null;
            page->Used = 0;
            page->SlotBytes = bytes;
            page->Capacity = (uint)((PageSize.Bytes - HeaderBytes) / bytes);
            page->Magic = PageMagic;
            byte* list = null;
            for (uint i = page->Capacity; i > 0; i--)
            {
                byte* slot = raw + HeaderBytes + (i - 1) * bytes;
                *(byte**)slot = list;
                list = slot;
            }
            page->FreeSlots = list;
            Push(k, page);
            _pages++;
        }
        byte* d = page->FreeSlots;
        page->FreeSlots = *(byte**)d;
        page->Used++;
        if (page->FreeSlots == null) Unlink(k, page);
        MemoryOps.Zero(d, bytes);
        _slotsUsed++;
        descriptor = (SlabDescriptor*)d;
        return Status.Ok;
    }

    /// <summary>Returns a slot; its page goes back to the buddy allocator when it was the last
    /// one in use. Panics on an address that is not a used slot of a pool page.</summary>
    public void Free(HeapPageSource src, SlabDescriptor* descriptor)
    {
        byte* d = (byte*)descriptor;
        PoolPage* page = (PoolPage*)((ulong)d & ~PageSize.OffsetMask);
        if (page->Magic != PageMagic) Panic.Fail("heap: descriptor is not in a descriptor page", (ulong)d);
        ulong offset = (ulong)(d - (byte*)page);
        if (offset < HeaderBytes || (offset - HeaderBytes) % page->SlotBytes != 0 || page->Used == 0)
            Panic.Fail("heap: descriptor address is not a used slot", (ulong)d);
        int k = (int)(page->SlotBytes / 64) - 1;
        bool wasFull = page->FreeSlots == null;
        *(byte**)d = page->FreeSlots;
        page->FreeSlots = d;
        page->Used--;
        _slotsUsed--;
        if (wasFull) Push(k, page);
        if (page->Used == 0)
        {
            Unlink(k, page);
            page->Magic = 0;
            src.Free(page, 0);
            _pages--;
        }
    }

    private void Push(int k, PoolPage* page)
    {
        PoolPage* head = (PoolPage*)_partial[k];
        page->Next = head;
        page->Prev = null;
        if (head != null) head->Prev = page;
        _partial[k] = (ulong)page;
    }

    private void Unlink(int k, PoolPage* page)
    {
        if (page->Prev != null) page->Prev->Next = page->Next;
        else _partial[k] = (ulong)page->Next;
        if (page->Next != null) page->Next->Prev = page->Prev;
        page->Next = null; page->Prev = null;
    }
}
