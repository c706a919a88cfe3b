namespace SharpMM.Boot;

/// <summary>One processor the MADT lists (a local APIC or x2APIC entry).</summary>
public struct MadtCpu
{
    /// <summary>The local APIC ID: the destination of INIT/SIPI and IPIs.</summary>
    public uint ApicId;
    /// <summary>The ACPI processor UID (ties the entry to the namespace's processor object).</summary>
    public uint ProcessorUid;
    /// <summary>Flags bit 0: the firmware says the CPU is usable. A disabled entry is not started.</summary>
    public bool Enabled;
}
