import { initBackend } from '@ragan/core';
import { describeAge } from './slider.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const slider = $<HTMLInputElement>('age');
const label = $('age-label');
const show = () => (label.textContent = describeAge(Number(slider.value)));
slider.addEventListener('input', show);
show();

initBackend({ backend: 'auto' })
  .then((info) => ($('backend').textContent = info.name))
  .catch((e: Error) => ($('backend').textContent = `failed: ${e.message}`));
