namespace System
{
    /// <summary>The primitive <c>bool</c>. ilc lays it out itself; the field only gives
    /// members a way to name the value.</summary>
    public readonly struct Boolean
    {
        private readonly bool m_value;

        public bool Equals(bool other) => m_value == other;
        public override bool Equals(object obj) => obj is bool b && b == m_value;
        public override int GetHashCode() => m_value ? 1 : 0;
    }
}
