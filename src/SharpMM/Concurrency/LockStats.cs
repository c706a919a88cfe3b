namespace SharpMM.Concurrency;

/// <summary>What a lock counts about itself. Updated only by the holder, so plain fields suffice.</summary>
public struct LockStats
{
    /// <summary>Times the lock was taken.</summary>
    public ulong Acquisitions;
    /// <summary>Times a taker found it held and had to wait.</summary>
    public ulong Contended;
    /// <summary>Clock ticks spent waiting (0 without <see cref="Cpu.InstallClock"/>).</summary>
    public ulong SpinTicks;

    /// <summary>Adds another lock's figures (totals over the locks of one rank).</summary>
    public void Add(in LockStats other)
    {
        Acquisitions += other.Acquisitions;
        Contended += other.Contended;
        SpinTicks += other.SpinTicks;
    }
}
