namespace SharpMM.User;

/// <summary>
/// A store of page-sized slots numbered 0 .. <see cref="SlotCount"/> - 1, where pages go when
/// they leave RAM and where persistent regions keep their snapshots. Hosted: a file; in a
/// kernel: a RAM disk (<see cref="RamDiskStore"/>) or a block device driver. A struct type
/// parameter (static dispatch, freestanding).
///
/// Contract: a completed <see cref="Write"/> is read back by every later <see cref="Read"/> of
/// the slot; after <see cref="Flush"/> returns Ok the writes before it survive a crash. A crash
/// may tear a write that had not completed (part old, part new). Failures are IoError.
/// </summary>
public unsafe interface IBackingStore
{
    /// <summary>Slots in the store.</summary>
    ulong SlotCount { get; }
    /// <summary>Reads slot <paramref name="slot"/> into the 4 KiB at <paramref name="page"/>.
    /// Return: Ok; OutOfRange; IoError.</summary>
    Status Read(ulong slot, byte* page);
    /// <summary>Writes the 4 KiB at <paramref name="page"/> to slot <paramref name="slot"/>.
    /// Return: Ok; OutOfRange; IoError.</summary>
    Status Write(ulong slot, byte* page);
    /// <summary>Makes every completed write durable. Return: Ok; IoError.</summary>
    Status Flush();
}
