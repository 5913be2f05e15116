export class AccountView {
  constructor(root) {
    this.root = root;
    this.addPassword = "#add-password";
    this.passwordHint = 'passwordHint';
  }

  bind() {
    const btn = this.root.querySelector(this.addPassword);
    btn.addEventListener('click', () => this.open());
  }

  validate(form) {
    const password = form.elements['password'].value;
    return password.length >= 12 && /[0-9]/.test(password);
  }
}
