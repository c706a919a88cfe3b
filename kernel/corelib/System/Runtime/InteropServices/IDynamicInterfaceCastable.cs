namespace System.Runtime.InteropServices
{
    /// <summary>ilc looks this interface and its members up by name; no type implements it
    /// freestanding.</summary>
    public interface IDynamicInterfaceCastable
    {
        bool IsInterfaceImplemented(RuntimeTypeHandle interfaceType, bool throwIfNotImplemented);
        RuntimeTypeHandle GetInterfaceImplementation(RuntimeTypeHandle interfaceType);
        RuntimeTypeHandle GetDynamicInterfaceImplementation(RuntimeTypeHandle interfaceType);
    }
}
