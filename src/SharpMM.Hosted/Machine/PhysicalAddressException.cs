using System;

namespace SharpMM.Hosted.Machine;

/// <summary>
/// The model reached a physical address outside simulated RAM: a table entry that points past RAM
/// or a mapping of a frame that does not exist. Real hardware would read all ones or raise a
/// machine check; the model stops loudly instead, naming the linear address and the entry.
/// </summary>
public sealed class PhysicalAddressException : Exception
{
    /// <summary>The physical address.</summary>
    public ulong PhysicalAddress { get; }

    /// <summary>Creates the exception.</summary>
    public PhysicalAddressException(ulong physicalAddress, string message) : base(message) => PhysicalAddress = physicalAddress;
}
